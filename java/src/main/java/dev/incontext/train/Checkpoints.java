package dev.incontext.train;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RecordBinder;
import dev.incontext.config.RunConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Checkpoints: one directory per saved step, {@code checkpoints/step-00001000/} holding {@code model.pt},
 * {@code optimizer.pt}, {@code config.yaml} and {@code meta.yaml} (step, format, SHA-256 of every file). A
 * checkpoint is written into a temporary directory and renamed into place, so a crash never leaves a partial one.
 * The data and the curriculum are pure functions of (seed, step), so (weights, optimiser state, step) is the
 * whole state: resuming reproduces the uninterrupted run bit for bit on the CPU.
 */
public final class Checkpoints {
    static final int FORMAT = 1;
    private static final String PREFIX = "step-";

    private Checkpoints() {}

    public record Saved(Path dir, long step, RunConfig config) {}

    public static Path dir(Path runDir) {
        return runDir.resolve("checkpoints");
    }

    public static Path save(Path runDir, long step, RunConfig config, Module model, Optimizer optimizer, int keep)
            throws IOException {
        Path root = dir(runDir);
        Files.createDirectories(root);
        Path target = root.resolve(String.format("%s%08d", PREFIX, step));
        Path tmp = Files.createTempDirectory(root, ".tmp-" + PREFIX);
        OutputArchive m = new OutputArchive();
        model.save(m);
        m.save_to(tmp.resolve("model.pt").toString());
        if (optimizer != null) {
            OutputArchive o = new OutputArchive();
            optimizer.save(o);
            o.save_to(tmp.resolve("optimizer.pt").toString());
        }
        Files.writeString(tmp.resolve("config.yaml"), ConfigLoader.toYaml(config), StandardCharsets.UTF_8);
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("step", step);
        Map<String, String> sums = new LinkedHashMap<>();
        for (String f : new String[] {"model.pt", "optimizer.pt", "config.yaml"}) {
            if (Files.exists(tmp.resolve(f))) {
                sums.put(f, sha256(tmp.resolve(f)));
            }
        }
        meta.put("sha256", sums);
        Files.writeString(tmp.resolve("meta.yaml"), new Yaml().dump(meta), StandardCharsets.UTF_8);
        if (Files.exists(target)) {
            deleteTree(target);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target);
        }
        prune(root, keep);
        return target;
    }

    /** The checkpoint directories under a run, oldest first. */
    public static List<Path> list(Path runDir) throws IOException {
        Path root = dir(runDir);
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(root, PREFIX + "*")) {
            s.forEach(out::add);
        }
        out.sort(null);
        return out;
    }

    /** A checkpoint directory, or the newest under a run directory. */
    public static Path resolve(Path path) throws IOException {
        if (Files.exists(path.resolve("meta.yaml"))) {
            return path;
        }
        List<Path> all = list(path);
        if (all.isEmpty()) {
            throw new IllegalArgumentException("no checkpoint in " + path + " (expected " + dir(path)
                    + "/step-*/ or a checkpoint directory holding meta.yaml)");
        }
        return all.get(all.size() - 1);
    }

    /** Reads and verifies a checkpoint's metadata and config; refuses a corrupted one, naming the file. */
    public static Saved inspect(Path ckpt) throws IOException {
        Path metaFile = ckpt.resolve("meta.yaml");
        if (!Files.exists(metaFile)) {
            throw new IllegalArgumentException("checkpoint " + ckpt + " is incomplete: meta.yaml is missing");
        }
        Map<String, Object> meta;
        try (InputStream in = Files.newInputStream(metaFile)) {
            meta = new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("checkpoint " + ckpt + " is corrupted: cannot parse meta.yaml ("
                    + e.getMessage() + ")");
        }
        if (meta == null || !Objects.equals(meta.get("format"), FORMAT)) {
            throw new IllegalArgumentException("checkpoint " + ckpt + " has format " + (meta == null ? null
                    : meta.get("format")) + "; this version reads format " + FORMAT);
        }
        @SuppressWarnings("unchecked")
        Map<String, String> sums = (Map<String, String>) meta.get("sha256");
        for (Map.Entry<String, String> e : sums.entrySet()) {
            Path f = ckpt.resolve(e.getKey());
            if (!Files.exists(f)) {
                throw new IllegalArgumentException("checkpoint " + ckpt + " is incomplete: " + e.getKey() + " is missing");
            }
            if (!sha256(f).equals(e.getValue())) {
                throw new IllegalArgumentException("checkpoint " + ckpt + " is corrupted: " + e.getKey()
                        + " does not match its SHA-256 in meta.yaml; use an older checkpoint or start afresh");
            }
        }
        RunConfig config = ConfigLoader.fromYaml(Files.readString(ckpt.resolve("config.yaml")));
        return new Saved(ckpt, ((Number) meta.get("step")).longValue(), config);
    }

    public static void loadModel(Path ckpt, Module model) {
        InputArchive a = new InputArchive();
        a.load_from(ckpt.resolve("model.pt").toString());
        model.load(a);
    }

    public static void loadOptimizer(Path ckpt, Optimizer optimizer) {
        InputArchive a = new InputArchive();
        a.load_from(ckpt.resolve("optimizer.pt").toString());
        optimizer.load(a);
    }

    /**
     * The config keys that must agree for a checkpoint to be resumed by a run: model, task, seed and the
     * optimiser's kind. Returns the differing keys (empty when compatible).
     */
    public static List<String> incompatibilities(RunConfig saved, RunConfig now) {
        List<String> diffs = new ArrayList<>();
        compare("", RecordBinder.toMap(saved), RecordBinder.toMap(now), diffs);
        diffs.removeIf(k -> !(k.startsWith("model.") || k.startsWith("task.") || k.equals("seed")
                || k.equals("training.optimizer") || k.equals("training.batch_size") || k.startsWith("curriculum.")));
        return diffs;
    }

    @SuppressWarnings("unchecked")
    private static void compare(String path, Map<String, Object> a, Map<String, Object> b, List<String> out) {
        for (String k : a.keySet()) {
            Object x = a.get(k);
            Object y = b.get(k);
            if (x instanceof Map && y instanceof Map) {
                compare(path + k + ".", (Map<String, Object>) x, (Map<String, Object>) y, out);
            } else if (!Objects.equals(x, y)) {
                out.add(path + k + " (checkpoint: " + x + ", now: " + y + ")");
            }
        }
    }

    private static void prune(Path root, int keep) throws IOException {
        List<Path> all = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(root, PREFIX + "*")) {
            s.forEach(all::add);
        }
        all.sort(null);
        for (int i = 0; i < all.size() - keep; i++) {
            deleteTree(all.get(i));
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (Files.isDirectory(p)) {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(p)) {
                for (Path c : s) {
                    deleteTree(c);
                }
            }
        }
        Files.deleteIfExists(p);
    }

    static String sha256(Path f) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            try (InputStream in = Files.newInputStream(f)) {
                byte[] buf = new byte[1 << 16];
                for (int r; (r = in.read(buf)) > 0; ) {
                    md.update(buf, 0, r);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
