package dev.incontext.interop;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.ModularConfig;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunSpec;
import dev.incontext.interop.TorchFile.StoredTensor;
import dev.incontext.model.Gpt2Model;
import dev.incontext.model.InContextModel;
import dev.incontext.model.Models;
import dev.incontext.model.RopeDecoder;
import dev.incontext.ops.Rng;
import dev.incontext.train.Checkpoints;
import dev.incontext.train.TokenObjective;
import dev.incontext.train.TrainedModel;
import dev.incontext.util.AtomicFiles;
import dev.incontext.util.Devices;
import dev.incontext.util.Json;
import dev.incontext.util.Sha256;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Checkpoints of the papers' own PyTorch code, in and out: {@link #importFile} reads a state dict saved by Garg et
 * al.'s {@code TransformerModel} or He et al.'s {@code RoPETransformer} (a {@code torch.save} file, read by
 * {@link TorchFile} without Python), maps every tensor onto {@link Gpt2Model} or {@link RopeDecoder}, and writes a run
 * directory that {@link TrainedModel#load}, {@link TokenObjective#load}, {@code incontext eval},
 * {@code attention-map} and the experiments read like any other; {@link #export} writes a run's checkpoint as a state
 * dict the reference class loads with {@code load_state_dict(strict=True)}.
 *
 * <p>Every name and shape is checked: an unknown tensor, a missing one and a wrongly shaped one are errors naming the
 * tensor (with the expected and the found shape), all reported together. The state dict records neither the number of
 * attention heads of Garg's model nor the MLP activation of He's (ReLU and GELU have the same weights), so those come
 * from the config; everything else comes from the shapes.
 *
 * <p>The reference models compute what ours compute: Hugging Face GPT-2 uses {@code gelu_new} (the tanh GELU),
 * LayerNorm epsilon 1e-5 and attention scores scaled by head_dim^-1/2, as {@link Gpt2Model} does; He et al.'s decoder
 * uses nn.LayerNorm (epsilon 1e-5), scale head_dim^-1/2 (its exponent parameter {@code s} is asserted 0 in training),
 * ReLU, tanh-GELU or SwiGLU, and RoPE of rotary-embedding-torch (interleaved pairs, frequencies base^(-2j/D), read
 * from the file's {@code rotary_emb.freqs}), as {@link RopeDecoder} does.
 */
public final class ReferenceCheckpoints {
    /** Hugging Face GPT2Config's default vocabulary: the rows of the (unused) token embedding Garg's model carries. */
    public static final int GPT2_VOCAB = 50257;
    /** He et al.'s vocabulary: digits 0..p, 10 special tokens, 7 position hints. */
    private static final int HE_EXTRA_TOKENS = 18;
    private static final Pattern GARG_LAYER = Pattern.compile("_backbone\\.h\\.(\\d+)\\..*");
    private static final Pattern HE_LAYER = Pattern.compile("transformer\\.h\\.(\\d+)\\..*");
    private static final List<String> RUN_FILES = List.of("checkpoints", "metrics.jsonl", "config.yaml");

    private ReferenceCheckpoints() {}

    /** What an import wrote: the run directory, its checkpoint, the config, and what the user should know. */
    public record Imported(Path runDir, Path checkpoint, RunSpec config, List<String> notes) {}

    /** Which tensor of ours a tensor of the reference is, and whether it is stored transposed (HF Conv1D). */
    private record Entry(String reference, String ours, boolean transposed) {}

    /**
     * Reads the state dict in {@code file}, saved by {@code from}'s model class (plainly, as
     * {@code torch.save(model.state_dict())}, or inside a dict under {@code model_state_dict}, {@code state_dict} or
     * {@code model}, as Garg et al.'s {@code state.pt}; a {@code module.} or {@code _orig_mod.} prefix of DDP or
     * torch.compile is dropped), and writes it as a run directory {@code runDir} of one checkpoint (at the
     * {@code train_step} the file records, else 0). {@code config} (a file or shipped name; null: linear_regression
     * for garg, he_modular for he) and {@code overrides} give what the state dict does not: the task, the evaluation
     * settings, and the number of heads of a Garg model that is none of Garg's presets ({@code model.n_head=H}).
     */
    public static Imported importFile(ReferenceModel from, Path file, String config, List<String> overrides,
            Path runDir, Consumer<String> notices) throws IOException {
        for (String f : RUN_FILES) {
            if (Files.exists(runDir.resolve(f))) {
                throw new IllegalArgumentException(runDir + " already holds a run (" + runDir.resolve(f)
                        + " exists); import into a new directory");
            }
        }
        List<String> notes = new ArrayList<>();
        Consumer<String> note = m -> {
            notes.add(m);
            notices.accept(m);
        };
        try (PointerScope scope = new PointerScope(); TorchFile tf = TorchFile.open(file)) {
            Map<String, StoredTensor> dict = stateDict(tf, note);
            long step = trainStep(tf.root());
            RunSpec spec;
            Module module;
            List<Entry> entries;
            Map<String, long[]> ignorable;
            if (from == ReferenceModel.GARG) {
                RunConfig c = gargConfig(dict, config, overrides, runDir, note);
                InContextModel model = Models.create(c, Devices.float32("cpu"));
                spec = c;
                module = model.module();
                entries = gargEntries(c.model().layers());
                ignorable = gargIgnorable(dict, c);
            } else {
                ModularConfig c = heConfig(dict, config, overrides, runDir, note);
                RopeDecoder model = new RopeDecoder(c.model(), c.task().vocabSize(),
                        Rng.cpu(Rng.derive(c.seed(), Rng.Stream.INIT, 0)), Devices.float32("cpu"));
                spec = c;
                module = model.module();
                entries = heEntries(c.model());
                ignorable = Map.of();
                checkHeExtras(dict, c.model(), file);
            }
            copy(dict, entries, ignorable, module, from, file);
            Files.createDirectories(runDir);
            AtomicFiles.write(runDir.resolve("config.yaml"), ConfigLoader.toYaml((Record) spec));
            AtomicFiles.write(runDir.resolve("metrics.jsonl"), "");
            Path ckpt = Checkpoints.save(runDir, step, spec, module, null, 1, Set.of());
            Map<String, Object> prov = new LinkedHashMap<>();
            prov.put("imported_from", from.id());
            prov.put("file", file.getFileName().toString());
            prov.put("sha256", Sha256.hex(file));
            prov.put("step", step);
            prov.put("notes", notes);
            AtomicFiles.write(runDir.resolve("imported.json"), Json.pretty(prov) + "\n");
            return new Imported(runDir, ckpt, spec, List.copyOf(notes));
        }
    }

    /**
     * Writes the checkpoint {@code checkpointOrRunDir} (a checkpoint, or the newest valid one of a run) as a state
     * dict of {@code to}'s model class in torch.save's format: Garg's {@code TransformerModel} for a GPT-2 regression
     * run with the interleaved encoding, He's {@code RoPETransformer} for a token run. Garg's GPT2Model carries a token
     * embedding it never uses (its prompts enter through {@code inputs_embeds}); it is written as zeros of
     * {@code vocabSize} rows (GPT2Config's default {@link #GPT2_VOCAB}, which Garg's code keeps). Returns the names
     * written.
     */
    public static List<String> export(Path checkpointOrRunDir, ReferenceModel to, Path file, int vocabSize,
            Consumer<String> notices) throws IOException {
        Checkpoints.Saved saved = Checkpoints.load(checkpointOrRunDir, notices);
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            if (to == ReferenceModel.GARG) {
                RunConfig c = saved.regression();
                if (c.model().family() != RunConfig.ModelFamily.GPT2
                        || c.model().encoding() != RunConfig.EncodingKind.INTERLEAVED) {
                    throw new IllegalArgumentException("Garg et al.'s TransformerModel is GPT-2 on interleaved prompts "
                            + "(x, (y, 0, ..., 0)); checkpoint " + saved.dir() + " is of family "
                            + c.model().family().name().toLowerCase() + " with encoding "
                            + c.model().encoding().name().toLowerCase());
                }
                if (vocabSize < 1) {
                    throw new IllegalArgumentException("the vocabulary size must be >= 1; got " + vocabSize);
                }
                Map<String, Tensor> ours = parameters(TrainedModel.load(saved.dir(), notices).model().module());
                int width = c.model().width();
                for (Entry e : gargEntries(c.model().layers())) {
                    Tensor t = ours.get(e.ours);
                    out.put(e.reference, e.transposed ? t.t().contiguous() : t);
                    if (e.reference.equals("_backbone.wpe.weight")) {
                        // GPT2Model registers wte before wpe; order is cosmetic, names are what load_state_dict checks.
                        out.put("_backbone.wte.weight", torch.zeros(new long[] {vocabSize, width},
                                Devices.float32("cpu")));
                    }
                }
                out = ordered(out, List.of("_read_in.", "_backbone.wte.", "_backbone.wpe.", "_backbone.h.",
                        "_backbone.ln_f.", "_read_out."));
            } else {
                ModularConfig c = saved.tokens();
                RopeDecoder model = TokenObjective.load(saved.dir()).model();
                Map<String, Tensor> ours = parameters(model.module());
                for (Entry e : heEntries(c.model())) {
                    out.put(e.reference, ours.get(e.ours));
                }
                Tensor freqs = heFreqs(c.model().nEmbd() / c.model().nHead(), c.model().ropeBase());
                for (int l = 0; l < c.model().nLayer(); l++) {
                    out.put("transformer.h." + l + ".attn.rotary_emb.freqs", freqs);
                }
                out.put("lm_head.weight", model.headWeight());
                out = ordered(out, heOrder(c.model().nLayer()));
            }
            TorchFile.writeStateDict(file, out);
            return List.copyOf(out.keySet());
        }
    }

    // ---------------------------------------------------------------------------------------------- reading

    /** The model's state dict inside a torch.save file, prefixes of DDP / torch.compile dropped. */
    static Map<String, StoredTensor> stateDict(TorchFile tf, Consumer<String> note) {
        Object root = tf.root();
        if (!(root instanceof Map<?, ?> top)) {
            throw new IllegalArgumentException(tf.path() + " does not hold a state dict (a dict of tensors) but a "
                    + (root == null ? "None" : root.getClass().getSimpleName()));
        }
        Map<?, ?> dict = top;
        for (String wrapper : List.of("model_state_dict", "state_dict", "model")) {
            if (top.get(wrapper) instanceof Map<?, ?> inner) {
                note.accept("read the state dict under '" + wrapper + "' of " + tf.path().getFileName()
                        + " (other entries: " + String.join(", ", top.keySet().stream().map(String::valueOf)
                        .filter(k -> !k.equals(wrapper)).toList()) + ")");
                dict = inner;
                break;
            }
        }
        Map<String, StoredTensor> out = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            String k = String.valueOf(e.getKey());
            if (e.getValue() instanceof StoredTensor t) {
                out.put(k, t);
            } else {
                problems.add(k + " is not a tensor (" + (e.getValue() == null ? "None"
                        : e.getValue().getClass().getSimpleName()) + ")");
            }
        }
        if (!problems.isEmpty()) {
            throw new StateDictException(tf.path() + " is not a state dict", problems);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(tf.path() + " holds no tensors");
        }
        for (String prefix : List.of("module.", "_orig_mod.", "module.")) {
            if (out.keySet().stream().allMatch(k -> k.startsWith(prefix))) {
                Map<String, StoredTensor> stripped = new LinkedHashMap<>();
                out.forEach((k, v) -> stripped.put(k.substring(prefix.length()), v));
                out = stripped;
                note.accept("dropped the prefix '" + prefix + "' of every name (a wrapped model's state dict)");
            }
        }
        return out;
    }

    private static long trainStep(Object root) {
        return root instanceof Map<?, ?> m && m.get("train_step") instanceof Long s && s >= 0 ? s : 0;
    }

    private static long[] shape(Map<String, StoredTensor> dict, String name) {
        StoredTensor t = dict.get(name);
        return t == null ? null : t.size();
    }

    private static int layerCount(Map<String, StoredTensor> dict, Pattern p) {
        int max = -1;
        for (String k : dict.keySet()) {
            Matcher m = p.matcher(k);
            if (m.matches()) {
                max = Math.max(max, Integer.parseInt(m.group(1)));
            }
        }
        return max + 1;
    }

    private static long[] require(Map<String, StoredTensor> dict, String name, int dims, String gives, Path file) {
        long[] s = shape(dict, name);
        if (s == null) {
            throw new StateDictException(file + " does not fit", List.of("missing tensor " + name + " (it gives "
                    + gives + ")"));
        }
        if (s.length != dims) {
            throw new StateDictException(file + " does not fit", List.of(name + ": expected a " + dims
                    + "-dimensional tensor, found shape " + Arrays.toString(s)));
        }
        return s;
    }

    // ---------------------------------------------------------------------------------------------- Garg

    private static RunConfig gargConfig(Map<String, StoredTensor> dict, String config, List<String> overrides,
            Path runDir, Consumer<String> note) {
        Path file = Path.of("the state dict");
        long[] readIn = require(dict, "_read_in.weight", 2, "n_embd and n_dims", file);
        long[] wpe = require(dict, "_backbone.wpe.weight", 2, "the number of positions", file);
        int width = (int) readIn[0];
        int dims = (int) readIn[1];
        int layers = layerCount(dict, GARG_LAYER);
        if (layers == 0) {
            throw new StateDictException("the state dict does not fit", List.of("missing every block "
                    + "_backbone.h.N.* (no transformer layers)"));
        }
        if (wpe[0] % 2 != 0) {
            throw new StateDictException("the state dict does not fit", List.of("_backbone.wpe.weight has " + wpe[0]
                    + " positions; Garg's model has 2 per point (an x and a y token), an even number"));
        }
        int positions = (int) (wpe[0] / 2);
        RunConfig base = ConfigLoader.load(RunConfig.class, config == null ? "linear_regression" : config, overrides);
        int heads = base.model().nHead();
        if (heads == 0) {
            int[][] presets = {{12, 8, 256}, {6, 4, 128}, {3, 2, 64}};
            String[] names = {"standard", "small", "tiny"};
            for (int i = 0; i < presets.length; i++) {
                if (presets[i][0] == layers && presets[i][2] == width) {
                    heads = presets[i][1];
                    note.accept("the state dict does not record the number of heads: " + layers + " layers of width "
                            + width + " are Garg et al.'s " + names[i] + " model, which has " + heads + " heads (set "
                            + "model.n_head to say otherwise)");
                }
            }
            if (heads == 0) {
                throw new IllegalArgumentException("the state dict does not record the number of attention heads, and "
                        + layers + " layers of width " + width + " are none of Garg et al.'s models (standard 12/8/256, "
                        + "small 6/4/128, tiny 3/2/64): give it as model.n_head=H (Garg's conf/models/*.yaml says)");
            }
        }
        if (width % heads != 0) {
            throw new IllegalArgumentException("model.n_head = " + heads + " does not divide the state dict's width "
                    + width);
        }
        List<String> o = new ArrayList<>(overrides);
        o.addAll(List.of("model.family=gpt2", "model.preset=custom", "model.n_layer=" + layers,
                "model.n_head=" + heads, "model.n_embd=" + width, "model.encoding=interleaved",
                "model.n_positions=" + positions, "task.n_dims=" + dims, "out_dir=" + runDir));
        RunConfig.Range d = base.curriculum().dims();
        o.add("curriculum.dims.end=" + dims);
        o.add("curriculum.dims.start=" + Math.min(d.start(), dims));
        if (base.task().nDims() != dims) {
            note.accept("task.n_dims is " + dims + " (the read-in layer's input size), not the config's "
                    + base.task().nDims());
        }
        RunConfig.Range p = base.curriculum().points();
        if (p.end() > positions) {
            o.add("curriculum.points.end=" + positions);
            o.add("curriculum.points.start=" + Math.min(p.start(), positions));
            note.accept("curriculum.points.end is " + positions + " (the model's positions), not the config's "
                    + p.end());
        }
        if (base.eval().nPoints() > positions) {
            o.add("eval.n_points=" + positions);
            note.accept("eval.n_points is " + positions + " (the model's positions), not the config's "
                    + base.eval().nPoints());
        }
        return ConfigLoader.load(RunConfig.class, config == null ? "linear_regression" : config, o);
    }

    private static List<Entry> gargEntries(int layers) {
        List<Entry> e = new ArrayList<>();
        e.add(new Entry("_read_in.weight", "read_in_weight", false));
        e.add(new Entry("_read_in.bias", "read_in_bias", false));
        e.add(new Entry("_backbone.wpe.weight", "wpe", false));
        for (int l = 0; l < layers; l++) {
            String r = "_backbone.h." + l + ".";
            String o = "h" + l + "_";
            e.add(new Entry(r + "ln_1.weight", o + "ln_1_weight", false));
            e.add(new Entry(r + "ln_1.bias", o + "ln_1_bias", false));
            // HF Conv1D stores (in, out), nn.Linear (out, in); c_attn's output is q | k | v in both.
            e.add(new Entry(r + "attn.c_attn.weight", o + "attn_c_attn_weight", true));
            e.add(new Entry(r + "attn.c_attn.bias", o + "attn_c_attn_bias", false));
            e.add(new Entry(r + "attn.c_proj.weight", o + "attn_c_proj_weight", true));
            e.add(new Entry(r + "attn.c_proj.bias", o + "attn_c_proj_bias", false));
            e.add(new Entry(r + "ln_2.weight", o + "ln_2_weight", false));
            e.add(new Entry(r + "ln_2.bias", o + "ln_2_bias", false));
            e.add(new Entry(r + "mlp.c_fc.weight", o + "mlp_c_fc_weight", true));
            e.add(new Entry(r + "mlp.c_fc.bias", o + "mlp_c_fc_bias", false));
            e.add(new Entry(r + "mlp.c_proj.weight", o + "mlp_c_proj_weight", true));
            e.add(new Entry(r + "mlp.c_proj.bias", o + "mlp_c_proj_bias", false));
        }
        e.add(new Entry("_backbone.ln_f.weight", "ln_f_weight", false));
        e.add(new Entry("_backbone.ln_f.bias", "ln_f_bias", false));
        e.add(new Entry("_read_out.weight", "read_out_weight", false));
        e.add(new Entry("_read_out.bias", "read_out_bias", false));
        return e;
    }

    /**
     * Tensors of Garg's model that ours does not need, with the shape each must have (null: any first dimension):
     * the token embedding (prompts enter through inputs_embeds) and the causal-mask buffers older versions of
     * transformers saved in every attention layer.
     */
    private static Map<String, long[]> gargIgnorable(Map<String, StoredTensor> dict, RunConfig c) {
        Map<String, long[]> out = new LinkedHashMap<>();
        long[] wte = shape(dict, "_backbone.wte.weight");
        out.put("_backbone.wte.weight", new long[] {wte == null ? -1 : wte[0], c.model().width()});
        long p = 2L * c.model().nPositions();
        for (int l = 0; l < c.model().layers(); l++) {
            out.put("_backbone.h." + l + ".attn.bias", new long[] {1, 1, p, p});
            out.put("_backbone.h." + l + ".attn.masked_bias", new long[] {});
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------- He

    private static ModularConfig heConfig(Map<String, StoredTensor> dict, String config, List<String> overrides,
            Path runDir, Consumer<String> note) {
        Path file = Path.of("the state dict");
        long[] wte = require(dict, "transformer.wte.weight", 2, "the vocabulary and n_embd", file);
        int vocab = (int) wte[0];
        int width = (int) wte[1];
        int layers = layerCount(dict, HE_LAYER);
        if (layers == 0) {
            throw new StateDictException("the state dict does not fit", List.of("missing every block "
                    + "transformer.h.N.* (no transformer layers)"));
        }
        ModularConfig base = ConfigLoader.load(ModularConfig.class, config == null ? "he_modular" : config, overrides);
        int heads = base.model().nHead();
        long[] freqs = shape(dict, "transformer.h.0.attn.rotary_emb.freqs");
        if (freqs != null && freqs.length == 1 && freqs[0] > 0 && width % (2 * freqs[0]) == 0) {
            heads = (int) (width / (2 * freqs[0]));     // RoPE rotates the head's D coordinates in D/2 pairs
        }
        ModularConfig.Activation act = base.model().activation();
        if (dict.containsKey("transformer.h.0.mlp.w1.weight")) {
            act = ModularConfig.Activation.SWIGLU;
        } else {
            if (act == ModularConfig.Activation.SWIGLU) {
                act = ModularConfig.Activation.RELU;
            }
            note.accept("the state dict does not record the MLP activation (ReLU and GELU have the same weights): "
                    + act.name().toLowerCase() + " from the config (He et al.'s default is relu; set "
                    + "model.activation=gelu for a model trained with --act_name gelu)");
        }
        int p = vocab - HE_EXTRA_TOKENS;
        double ropeBase = ropeBase(dict, width / heads, base.model().ropeBase());
        List<String> o = new ArrayList<>(overrides);
        o.addAll(List.of("task.p=" + p, "model.n_layer=" + layers, "model.n_head=" + heads, "model.n_embd=" + width,
                "model.activation=" + act.name().toLowerCase(), "model.rope_base=" + ropeBase, "out_dir=" + runDir,
                "phase_diagram.n_layer=[" + layers + "]",
                "phase_diagram.n_tasks_pl=[" + base.task().nTasksPl() + "]",
                "phase_diagram.alpha=[" + base.task().alpha() + "]"));
        try {
            return ConfigLoader.load(ModularConfig.class, config == null ? "he_modular" : config, o);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the state dict's vocabulary of " + vocab + " tokens means p = " + p
                    + " (He et al.'s vocabulary has p + 18 tokens), with " + layers + " layers, " + heads + " heads, "
                    + "width " + width + ": " + e.getMessage(), e);
        }
    }

    /**
     * The RoPE base of the file's frequencies base^(-2j/D): from the second frequency, snapped to the nearest integer
     * when that reproduces them too; the config's when D = 2 (one frequency, always 1).
     */
    private static double ropeBase(Map<String, StoredTensor> dict, int headDim, double fallback) {
        StoredTensor t = dict.get("transformer.h.0.attn.rotary_emb.freqs");
        if (t == null || t.size().length != 1 || t.size()[0] < 2) {
            return fallback;
        }
        try (PointerScope s = new PointerScope()) {
            Tensor f = t.toTensor().to(torch.ScalarType.Double);
            double second = f.select(0, 1).item_double();
            double base = Math.pow(second, -headDim / 2.0);
            double rounded = Math.rint(base);
            return Double.isFinite(base) && rounded > 1
                    && torch.allclose(heFreqs(headDim, rounded).to(torch.ScalarType.Double), f, 1e-6, 0.0, false)
                    ? rounded : base;
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * rotary-embedding-torch's frequencies 1 / base^(arange(0, D, 2) / D) in float32, computed with libtorch's own
     * kernels as the library computes them with PyTorch's.
     */
    static Tensor heFreqs(int headDim, double base) {
        TensorOptions f = Devices.float32("cpu");
        Tensor j = torch.arange(new Scalar(0), new Scalar(headDim), new Scalar(2), f).narrow(0, 0, headDim / 2);
        return torch.pow(new Scalar(base), j.div(new Scalar(headDim))).reciprocal();
    }

    /** Checks what the decoder does not hold: tied head equal to the embedding, the same RoPE frequencies. */
    private static void checkHeExtras(Map<String, StoredTensor> dict, ModularConfig.Model m, Path file)
            throws IOException {
        List<String> problems = new ArrayList<>();
        int headDim = m.nEmbd() / m.nHead();
        Tensor expected = heFreqs(headDim, m.ropeBase());
        for (int l = 0; l < m.nLayer(); l++) {
            String name = "transformer.h." + l + ".attn.rotary_emb.freqs";
            StoredTensor t = dict.get(name);
            if (t == null) {
                problems.add("missing tensor " + name);
            } else if (!Arrays.equals(t.size(), new long[] {headDim / 2})) {
                problems.add(name + ": expected shape " + Arrays.toString(new long[] {headDim / 2}) + ", found "
                        + Arrays.toString(t.size()));
            } else if (!torch.allclose(t.toTensor().to(torch.ScalarType.Float), expected, 1e-5, 0.0, false)) {
                problems.add(name + ": not the RoPE frequencies base^(-2j/D) of base " + m.ropeBase()
                        + " that layer 0 has (layers with different frequencies are not supported)");
            }
        }
        StoredTensor head = dict.get("lm_head.weight");
        StoredTensor wte = dict.get("transformer.wte.weight");
        if (head == null) {
            problems.add("missing tensor lm_head.weight");
        } else if (!Arrays.equals(head.size(), wte.size())) {
            problems.add("lm_head.weight: expected shape " + Arrays.toString(wte.size()) + " (tied to "
                    + "transformer.wte.weight), found " + Arrays.toString(head.size()));
        } else if (!torch.equal(head.toTensor(), wte.toTensor())) {
            problems.add("lm_head.weight differs from transformer.wte.weight: the model was trained with "
                    + "--weight_tying False, and the decoder here ties its head to the embedding");
        }
        if (!problems.isEmpty()) {
            throw new StateDictException(file + " does not fit He et al.'s RoPETransformer as imported here",
                    problems);
        }
    }

    private static List<Entry> heEntries(ModularConfig.Model m) {
        List<Entry> e = new ArrayList<>();
        e.add(new Entry("transformer.wte.weight", "wte", false));
        boolean swiglu = m.activation() == ModularConfig.Activation.SWIGLU;
        for (int l = 0; l < m.nLayer(); l++) {
            String r = "transformer.h." + l + ".";
            String o = "h" + l + "_";
            e.add(new Entry(r + "ln_1.weight", o + "ln_1_weight", false));
            e.add(new Entry(r + "ln_1.bias", o + "ln_1_bias", false));
            e.add(new Entry(r + "attn.to_qkv.weight", o + "attn_qkv_weight", false));
            e.add(new Entry(r + "attn.o.weight", o + "attn_o_weight", false));
            e.add(new Entry(r + "ln_2.weight", o + "ln_2_weight", false));
            e.add(new Entry(r + "ln_2.bias", o + "ln_2_bias", false));
            if (swiglu) {
                // LlamaMLP: w2(silu(w1 x) * w3 x)
                e.add(new Entry(r + "mlp.w1.weight", o + "mlp_fc_weight", false));
                e.add(new Entry(r + "mlp.w3.weight", o + "mlp_gate_weight", false));
                e.add(new Entry(r + "mlp.w2.weight", o + "mlp_proj_weight", false));
            } else {
                e.add(new Entry(r + "mlp.c_fc.weight", o + "mlp_fc_weight", false));
                e.add(new Entry(r + "mlp.c_proj.weight", o + "mlp_proj_weight", false));
            }
        }
        e.add(new Entry("transformer.ln_f.weight", "ln_f_weight", false));
        e.add(new Entry("transformer.ln_f.bias", "ln_f_bias", false));
        return e;
    }

    /** The reference's registration order of names, as its state_dict() lists them. */
    private static List<String> heOrder(int layers) {
        List<String> order = new ArrayList<>(List.of("transformer.wte."));
        for (int l = 0; l < layers; l++) {
            String r = "transformer.h." + l + ".";
            order.addAll(List.of(r + "ln_1.", r + "attn.to_qkv.", r + "attn.o.", r + "attn.rotary_emb.", r + "ln_2.",
                    r + "mlp.c_fc.", r + "mlp.w1.", r + "mlp.w2.", r + "mlp.w3.", r + "mlp.c_proj."));
        }
        order.addAll(List.of("transformer.ln_f.", "lm_head."));
        return order;
    }

    // ---------------------------------------------------------------------------------------------- common

    private static Map<String, Tensor> parameters(Module module) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        var params = module.named_parameters(true);
        for (long i = 0; i < params.size(); i++) {
            out.put(params.get(i).key().getString(), params.get(i).access());
        }
        return out;
    }

    private static Map<String, Tensor> ordered(Map<String, Tensor> in, List<String> prefixes) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String p : prefixes) {
            in.forEach((k, v) -> {
                if (k.startsWith(p) && !out.containsKey(k)) {
                    out.put(k, v);
                }
            });
        }
        in.forEach(out::putIfAbsent);
        return out;
    }

    /**
     * Checks every name and shape of {@code dict} against the entries (and the tensors that may be ignored), then
     * copies each tensor into our parameter, as float32.
     */
    private static void copy(Map<String, StoredTensor> dict, List<Entry> entries, Map<String, long[]> ignorable,
            Module module, ReferenceModel from, Path file) throws IOException {
        Map<String, Tensor> ours = parameters(module);
        Map<String, Entry> byRef = new LinkedHashMap<>();
        for (Entry e : entries) {
            byRef.put(e.reference, e);
        }
        Set<String> extras = new TreeSet<>();
        if (from == ReferenceModel.HE) {
            extras.add("lm_head.weight");   // checked by checkHeExtras
            dict.keySet().stream().filter(k -> k.endsWith(".attn.rotary_emb.freqs")).forEach(extras::add);
        }
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, StoredTensor> d : dict.entrySet()) {
            String name = d.getKey();
            long[] found = d.getValue().size();
            Entry e = byRef.get(name);
            if (e != null) {
                long[] want = ours.get(e.ours).sizes().vec().get();
                if (e.transposed) {
                    want = new long[] {want[1], want[0]};
                }
                if (!Arrays.equals(want, found)) {
                    problems.add(name + ": expected shape " + Arrays.toString(want) + ", found "
                            + Arrays.toString(found));
                }
            } else if (ignorable.containsKey(name)) {
                long[] want = ignorable.get(name);
                if (!Arrays.equals(want, found)) {
                    problems.add(name + ": expected shape " + Arrays.toString(want) + ", found "
                            + Arrays.toString(found));
                }
            } else if (!extras.contains(name)) {
                problems.add("unknown tensor " + name + " (shape " + Arrays.toString(found) + ")");
            }
        }
        for (Entry e : entries) {
            if (!dict.containsKey(e.reference)) {
                problems.add("missing tensor " + e.reference);
            }
        }
        if (!problems.isEmpty()) {
            throw new StateDictException(file + " does not fit " + (from == ReferenceModel.GARG
                    ? "Garg et al.'s TransformerModel" : "He et al.'s RoPETransformer"), problems);
        }
        try (NoGradGuard g = new NoGradGuard()) {
            for (Entry e : entries) {
                try (PointerScope s = new PointerScope()) {
                    Tensor src = dict.get(e.reference).toTensor().to(torch.ScalarType.Float);
                    ours.get(e.ours).copy_(e.transposed ? src.t() : src);
                }
            }
        }
    }
}
