package dev.incontext.train;

import dev.incontext.config.RunConfig;
import dev.incontext.model.InContextModel;
import dev.incontext.model.Models;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.util.Devices;
import dev.incontext.util.Tensors;
import dev.incontext.util.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.bytedeco.pytorch.Tensor;

/**
 * A trained model and the config it was trained with. {@link #load} reads one from a checkpoint (or the newest
 * checkpoint of a run directory); {@link #predict} may be called from many threads at once: the model holds no
 * mutable state and every call runs without autograd.
 */
public final class TrainedModel {
    private final RunConfig config;
    private final InContextModel model;
    private final Path checkpoint;

    public TrainedModel(RunConfig config, InContextModel model) {
        this(config, model, null);
    }

    /** A model whose parameters are those saved in {@code checkpoint} (null when they are in memory only). */
    public TrainedModel(RunConfig config, InContextModel model, Path checkpoint) {
        this.config = config;
        this.model = model;
        this.checkpoint = checkpoint;
    }

    /** The checkpoint directory holding exactly these parameters, if there is one. */
    public Optional<Path> checkpoint() {
        return Optional.ofNullable(checkpoint);
    }

    /**
     * An identity of the parameters: the SHA-256 of the checkpoint's model.pt, or, for a model held in memory only,
     * of its parameter values (prefixed "params:").
     */
    public String fingerprint() throws IOException {
        if (checkpoint != null) {
            return Checkpoints.sha256(checkpoint.resolve("model.pt"));
        }
        MessageDigest md = Sha256.digest();
        var params = model.module().named_parameters(true);
        for (long i = 0; i < params.size(); i++) {
            md.update(params.get(i).key().getString().getBytes(StandardCharsets.UTF_8));
            for (double v : Tensors.toDoubleArray(params.get(i).access())) {
                long bits = Double.doubleToLongBits(v);
                for (int b = 0; b < 8; b++) {
                    md.update((byte) (bits >>> (8 * b)));
                }
            }
        }
        return "params:" + Sha256.hex(md);
    }

    /**
     * Loads a checkpoint directory, or the newest valid checkpoint of a run directory; a newer checkpoint that fails
     * verification is skipped with a warning on the {@code dev.incontext} {@link System.Logger}.
     */
    public static TrainedModel load(Path checkpointOrRunDir) throws IOException {
        System.Logger log = System.getLogger("dev.incontext");
        return load(checkpointOrRunDir, m -> log.log(System.Logger.Level.WARNING, m));
    }

    /** As {@link #load(Path)}, telling {@code notices} about skipped checkpoints. */
    public static TrainedModel load(Path checkpointOrRunDir, Consumer<String> notices)
            throws IOException {
        Checkpoints.Saved saved = Checkpoints.load(checkpointOrRunDir, notices);
        RunConfig config = saved.regression();
        InContextModel model = Models.create(config, Devices.float32(config.device()));
        Checkpoints.loadModel(saved.dir(), model.module());
        model.module().eval();
        return new TrainedModel(config, model, saved.dir());
    }

    public RunConfig config() {
        return config;
    }

    public InContextModel model() {
        return model;
    }

    /**
     * Predictions (B, n) for prompts xs (B, n, d) and ys (B, n): entry k predicts y_k from the first k examples
     * and x_k (ys[:, k:] are not looked at for entry k). Inputs must be float32 on the model's device.
     */
    public Tensor predict(Tensor xs, Tensor ys) {
        if (xs.dim() != 3 || ys.dim() != 2 || xs.size(0) != ys.size(0) || xs.size(1) != ys.size(1)) {
            throw new IllegalArgumentException("predict expects xs (B, n, d) and ys (B, n); got xs of shape "
                    + Tensors.shape(xs) + " and ys of shape " + Tensors.shape(ys));
        }
        if (xs.size(2) != config.task().nDims()) {
            throw new IllegalArgumentException("the model was trained on d = " + config.task().nDims()
                    + " inputs; got xs with d = " + xs.size(2));
        }
        return model.predict(new PromptBatch(xs, ys, Map.of(), (int) xs.size(2)));
    }
}
