package dev.incontext.train;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.ModularConfig;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunIdentity;
import dev.incontext.config.RunKind;
import dev.incontext.config.RunSpec;
import dev.incontext.util.AtomicFiles;
import dev.incontext.util.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;
import org.yaml.snakeyaml.Yaml;

/**
 * Checkpoints: one directory per saved step, {@code checkpoints/step-00001000/} holding {@code model.pt},
 * {@code optimizer.pt}, {@code config.yaml} and {@code meta.yaml} (step, format, SHA-256 of every file). The data and
 * the curriculum are pure functions of (seed, step), so (weights, optimiser state, step) is the whole state: resuming
 * reproduces the uninterrupted run bit for bit on the CPU of the same machine.
 *
 * <p>Crash safety: a checkpoint is written into {@code .tmp-step-*} and renamed into place. Replacing an existing
 * {@code step-N} (a run resumed from an older checkpoint reaches N again) renames the old one to
 * {@code .replaced-step-N} first, moves the new one in, then deletes the old one; so at every instant a complete
 * {@code step-N} exists under one of the two names, and {@link #list} counts a {@code .replaced-} directory whose
 * {@code step-} is missing. {@link #cleanStale} (called when a run starts) deletes left-over temporaries and puts a
 * stranded replaced checkpoint back.
 */
public final class Checkpoints {
    /** 2: meta.yaml ends with its own SHA-256 and names the run's identity; 1 (read too) had neither. */
    static final int FORMAT = 2;
    private static final String SELF = "meta_sha256: ";
    private static final String PREFIX = "step-";
    private static final String TMP = ".tmp-" + PREFIX;
    private static final String REPLACED = ".replaced-" + PREFIX;
    private static final String[] FILES = {"model.pt", "optimizer.pt", "config.yaml"};
    /** Keys of an fp16 run's loss-scale state in optimizer.pt, beside the optimiser's own. */
    private static final String LOSS_SCALE = "incontext_loss_scale";
    private static final String LOSS_SCALE_TRACKER = "incontext_loss_scale_growth_tracker";

    private Checkpoints() {}

    /** A verified checkpoint: its directory, step and config (of the kind its meta.yaml names). */
    public record Saved(Path dir, long step, RunSpec config) {
        /** The config of a regression run; a checkpoint of another kind of run is refused, naming its kind. */
        public RunConfig regression() {
            if (config instanceof RunConfig c) {
                return c;
            }
            throw new CheckpointException(dir, "checkpoint " + dir + " is of a " + config.kind().id() + " run, not "
                    + "a regression run: evaluate and predict read regression checkpoints (a token run's "
                    + "checkpoints are read by `incontext attention-map` and the he-modular experiment)");
        }

        /** The config of a token run; a checkpoint of another kind of run is refused, naming its kind. */
        public ModularConfig tokens() {
            if (config instanceof ModularConfig c) {
                return c;
            }
            throw new CheckpointException(dir, "checkpoint " + dir + " is of a " + config.kind().id() + " run, not "
                    + "a token (modular arithmetic) run");
        }
    }

    /**
     * n steps log-spaced between max(1, warm-up) and the last step, rounded and made unique (so possibly fewer than
     * n at short runs); the last step is always included when n > 0.
     */
    public static TreeSet<Long> logSpacedSteps(long warmup, long total, int n) {
        TreeSet<Long> out = new TreeSet<>();
        if (n <= 0 || total <= 0) {
            return out;
        }
        double lo = Math.log(Math.max(1, Math.min(warmup, total)));
        double hi = Math.log(total);
        for (int i = 0; i < n; i++) {
            double f = n == 1 ? 1.0 : (double) i / (n - 1);
            out.add(Math.max(1, Math.min(total, Math.round(Math.exp(lo + f * (hi - lo))))));
        }
        out.add(total);
        return out;
    }

    public static Path dir(Path runDir) {
        return runDir.resolve("checkpoints");
    }

    /** The run directory a checkpoint directory belongs to: the parent of its {@code checkpoints/}. */
    public static Path runDirOf(Path checkpoint) {
        Path abs = checkpoint.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        return parent != null && parent.getFileName() != null && parent.getFileName().toString().equals("checkpoints")
                && parent.getParent() != null ? parent.getParent() : parent;
    }

    /**
     * Writes {@code checkpoints/step-N/} (model, optimiser state when not null, the config as YAML, meta.yaml with
     * the run's kind and SHA-256 sums) crash-safely, then keeps the newest {@code keep} of those whose step is not
     * in {@code kept} (those are all kept). Every kind of run uses this format.
     */
    public static Path save(Path runDir, long step, RunSpec config, Module model, Optimizer optimizer, int keep,
            Set<Long> kept) throws IOException {
        return save(runDir, step, config, model, optimizer, null, keep, kept);
    }

    /**
     * As {@link #save(Path, long, RunSpec, Module, Optimizer, int, Set)}, with an fp16 run's loss-scale state (null
     * for none) kept in optimizer.pt beside the optimiser's.
     */
    static Path save(Path runDir, long step, RunSpec config, Module model, Optimizer optimizer,
            LossScaler.State lossScale, int keep, Set<Long> kept) throws IOException {
        Path root = dir(runDir);
        Files.createDirectories(root);
        String name = String.format("%s%08d", PREFIX, step);
        Path target = root.resolve(name);
        // A name of its own, created with the umask's permissions (createTempDirectory would make it 0700, which a
        // group on a shared cluster file system cannot read).
        Path tmp = root.resolve(TMP + step + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        Files.createDirectory(tmp);
        OutputArchive m = new OutputArchive();
        model.save(m);
        m.save_to(tmp.resolve("model.pt").toString());
        if (optimizer != null) {
            OutputArchive o = new OutputArchive();
            optimizer.save(o);
            if (lossScale != null) {
                o.write(LOSS_SCALE, new IValue(lossScale.scale()));
                o.write(LOSS_SCALE_TRACKER, new IValue(lossScale.growthTracker()));
            }
            o.save_to(tmp.resolve("optimizer.pt").toString());
        }
        Files.writeString(tmp.resolve("config.yaml"), ConfigLoader.toYaml((Record) config), StandardCharsets.UTF_8);
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("kind", config.kind().id());
        meta.put("step", step);
        meta.put("identity", RunIdentity.digest(config));
        Map<String, String> sums = new LinkedHashMap<>();
        for (String f : FILES) {
            if (Files.exists(tmp.resolve(f))) {
                sums.put(f, sha256(tmp.resolve(f)));
            }
        }
        meta.put("sha256", sums);
        String body = new Yaml().dump(meta);
        // meta.yaml covers itself: its last line is the SHA-256 of everything before it.
        Files.writeString(tmp.resolve("meta.yaml"), body + SELF + sha256(body.getBytes(StandardCharsets.UTF_8)) + "\n",
                StandardCharsets.UTF_8);
        try (var files = Files.list(tmp)) {
            for (Path f : files.toList()) {
                AtomicFiles.sync(f);
            }
        }
        AtomicFiles.syncDirectory(tmp);
        if (Files.exists(target)) {
            Path replaced = root.resolve(REPLACED + name.substring(PREFIX.length()));
            deleteTree(replaced);                  // a stale one: target exists, so it is not the only copy
            move(target, replaced);
            move(tmp, target);
            deleteTree(replaced);
        } else {
            move(tmp, target);
        }
        AtomicFiles.syncDirectory(root);
        prune(root, keep, kept);
        return target;
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    /**
     * The checkpoint directories under a run, oldest first: every {@code step-*}, plus a {@code .replaced-step-*}
     * whose {@code step-*} is missing (a crash in the middle of replacing it). Reads only; changes nothing.
     */
    public static List<Path> list(Path runDir) throws IOException {
        Path root = dir(runDir);
        Map<String, Path> bySuffix = new TreeMap<>();
        if (!Files.isDirectory(root)) {
            return new ArrayList<>();
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(root)) {
            for (Path p : s) {
                String n = p.getFileName().toString();
                if (n.startsWith(PREFIX) && Files.isDirectory(p)) {
                    bySuffix.put(n.substring(PREFIX.length()), p);
                } else if (n.startsWith(REPLACED) && Files.isDirectory(p)) {
                    bySuffix.putIfAbsent(n.substring(REPLACED.length()), p);
                }
            }
        }
        return new ArrayList<>(bySuffix.values());
    }

    /**
     * Moves the checkpoints of steps after {@code step} into a new {@code checkpoints/abandoned-N/}: a run resumed
     * from an older checkpoint starts a new line of checkpoints, and the newer ones of the abandoned line must never
     * count as "newest" nor crowd the new line out when old checkpoints are pruned. Nothing is deleted. Returns the
     * folder, or null when there was nothing to move.
     */
    public static Path setAsideNewerThan(Path runDir, long step) throws IOException {
        List<Path> newer = new ArrayList<>();
        for (Path p : list(runDir)) {
            Long s = stepOfName(p);
            if (s != null && s > step) {
                newer.add(p);
            }
        }
        if (newer.isEmpty()) {
            return null;
        }
        Path root = dir(runDir);
        Path aside;
        int n = 1;
        while (Files.exists(aside = root.resolve("abandoned-" + n))) {
            n++;
        }
        Files.createDirectory(aside);
        for (Path p : newer) {
            move(p, aside.resolve(p.getFileName().toString().replace(REPLACED, PREFIX)));
        }
        AtomicFiles.syncDirectory(root);
        return aside;
    }

    /**
     * Tidies a run's checkpoint directory before a run writes to it: deletes {@code .tmp-step-*} left by a crash
     * during a save, puts back a {@code .replaced-step-N} whose {@code step-N} is missing, and deletes one whose
     * {@code step-N} exists. Returns what it did, one line each.
     */
    public static List<String> cleanStale(Path runDir) throws IOException {
        Path root = dir(runDir);
        List<String> done = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return done;
        }
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(root)) {
            s.forEach(entries::add);
        }
        for (Path p : entries) {
            String n = p.getFileName().toString();
            if (n.startsWith(TMP)) {
                deleteTree(p);
                done.add("deleted the unfinished checkpoint " + p + " (left by an interrupted save)");
            } else if (n.startsWith(REPLACED)) {
                Path target = root.resolve(PREFIX + n.substring(REPLACED.length()));
                if (Files.exists(target)) {
                    deleteTree(p);
                    done.add("deleted " + p + " (already replaced by " + target.getFileName() + ")");
                } else {
                    move(p, target);
                    done.add("restored " + target + " from " + p.getFileName() + " (a save was interrupted while "
                            + "replacing it)");
                }
            }
        }
        return done;
    }

    /** A checkpoint directory as given, or the newest under a run directory (not verified; see {@link #load}). */
    public static Path resolve(Path path) throws IOException {
        if (isCheckpointDir(path)) {
            return path;
        }
        List<Path> all = list(path);
        if (all.isEmpty()) {
            throw noCheckpoint(path);
        }
        return all.get(all.size() - 1);
    }

    private static boolean isCheckpointDir(Path path) {
        String n = path.getFileName() == null ? "" : path.getFileName().toString();
        return Files.exists(path.resolve("meta.yaml")) || n.startsWith(PREFIX) || n.startsWith(REPLACED);
    }

    private static CheckpointException noCheckpoint(Path path) {
        return new CheckpointException(path, "no checkpoint in " + path + " (expected " + dir(path)
                + "/step-*/ or a checkpoint directory holding meta.yaml)");
    }

    /**
     * Verifies and returns a checkpoint. A checkpoint directory is used as given (refused, naming the file, when it
     * is not valid). For a run directory the newest valid checkpoint is taken: newer ones that fail verification
     * are skipped, and {@code notices} is told which and why.
     */
    public static Saved load(Path checkpointOrRunDir, Consumer<String> notices) throws IOException {
        if (isCheckpointDir(checkpointOrRunDir)) {
            return inspect(checkpointOrRunDir);
        }
        List<Path> all = list(checkpointOrRunDir);
        if (all.isEmpty()) {
            throw noCheckpoint(checkpointOrRunDir);
        }
        List<String> skipped = new ArrayList<>();
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                Saved s = inspect(all.get(i));
                for (String why : skipped) {
                    notices.accept("skipped an unusable checkpoint: " + why);
                }
                if (!skipped.isEmpty()) {
                    notices.accept("using " + s.dir() + " (step " + s.step() + "), the newest valid checkpoint");
                }
                return s;
            } catch (CheckpointException e) {
                skipped.add(e.getMessage());
            }
        }
        throw new CheckpointException(checkpointOrRunDir, "no valid checkpoint in " + dir(checkpointOrRunDir) + ": "
                + String.join("; ", skipped));
    }

    /** Reads and verifies a checkpoint's metadata, files and config; refuses a broken one, naming the file. */
    public static Saved inspect(Path ckpt) throws IOException {
        long step = verify(ckpt);
        String kind = kindOf(ckpt);
        String yaml = Files.readString(ckpt.resolve("config.yaml"));
        RunSpec config;
        try {
            if (kind == null) {
                // Written before checkpoints named their kind: a regression run's, or else a token run's.
                try {
                    config = ConfigLoader.fromYaml(RunKind.REGRESSION, yaml);
                } catch (RuntimeException e) {
                    config = ConfigLoader.fromYaml(RunKind.TOKENS, yaml);
                }
            } else {
                config = ConfigLoader.fromYaml(parseKind(ckpt, kind), yaml);
            }
        } catch (CheckpointException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new CheckpointException(ckpt.resolve("config.yaml"), "checkpoint " + ckpt + " has a config.yaml "
                    + "this version cannot read: " + firstLine(e.getMessage()), e);
        }
        return new Saved(ckpt, step, config);
    }

    /** The run kind a (verified) checkpoint's meta.yaml names, or null when it names none. */
    private static String kindOf(Path ckpt) throws IOException {
        try (InputStream in = Files.newInputStream(ckpt.resolve("meta.yaml"))) {
            Object parsed = ConfigLoader.strictYaml().load(in);
            Object kind = parsed instanceof Map<?, ?> m ? m.get("kind") : null;
            return kind == null ? null : String.valueOf(kind);
        }
    }

    private static RunKind parseKind(Path ckpt, String kind) {
        try {
            return RunKind.parse(kind);
        } catch (IllegalArgumentException e) {
            throw corrupted(ckpt.resolve("meta.yaml"), "its 'kind' is '" + kind + "' (" + e.getMessage() + ")");
        }
    }

    /**
     * Verifies a checkpoint's meta.yaml and the SHA-256 of every file it lists, whatever kind of run wrote it;
     * returns its step. Refuses a broken one with a {@link CheckpointException} naming the file.
     */
    public static long verify(Path ckpt) throws IOException {
        Path metaFile = ckpt.resolve("meta.yaml");
        if (!Files.isDirectory(ckpt)) {
            throw new CheckpointException(ckpt, "checkpoint " + ckpt + " does not exist");
        }
        if (!Files.exists(metaFile)) {
            throw new CheckpointException(metaFile, "checkpoint " + ckpt + " is incomplete: meta.yaml is missing");
        }
        String text = Files.readString(metaFile, StandardCharsets.UTF_8);
        int self = text.lastIndexOf(SELF);
        if (self >= 0) {
            String body = text.substring(0, self);
            String sum = text.substring(self + SELF.length()).strip();
            if (!sum.equals(sha256(body.getBytes(StandardCharsets.UTF_8)))) {
                throw corrupted(metaFile, "does not match its own SHA-256 (it was edited or damaged)");
            }
        }
        Object parsed;
        try {
            parsed = ConfigLoader.strictYaml().load(text);
        } catch (RuntimeException e) {
            throw corrupted(metaFile, "it is not valid YAML (" + firstLine(e.getMessage()) + ")");
        }
        if (!(parsed instanceof Map<?, ?> meta)) {
            throw corrupted(metaFile, parsed == null ? "it is empty" : "it does not hold a mapping");
        }
        Object format = meta.get("format");
        if (!(format instanceof Integer)) {
            throw corrupted(metaFile, "its 'format' is " + (format == null ? "missing" : "'" + format + "'"));
        }
        if (!format.equals(FORMAT) && !format.equals(1)) {
            throw new CheckpointException(metaFile, "checkpoint " + ckpt + " has format " + format
                    + "; this version of incontext reads formats 1 and " + FORMAT);
        }
        if (format.equals(FORMAT) && self < 0) {
            throw corrupted(metaFile, "has no '" + SELF.strip() + "' line (format " + FORMAT + " covers itself)");
        }
        Object step = meta.get("step");
        if (!(step instanceof Number n) || n.longValue() < 0 || step instanceof Double || step instanceof Float) {
            throw corrupted(metaFile, "its 'step' is " + (step == null ? "missing" : "'" + step + "'"));
        }
        Long named = stepOfName(ckpt);
        if (named != null && named != ((Number) step).longValue()) {
            throw corrupted(metaFile, "says step " + step + " but the directory is " + ckpt.getFileName());
        }
        if (!(meta.get("sha256") instanceof Map<?, ?> sums)) {
            throw corrupted(metaFile, "its 'sha256' table is " + (meta.get("sha256") == null ? "missing" : "garbled"));
        }
        for (String f : FILES) {
            // Every file the loader reads is listed (and so verified): model and config always, the optimiser's
            // state whenever it is there.
            boolean required = !f.equals("optimizer.pt") || Files.exists(ckpt.resolve(f));
            if (required && !sums.containsKey(f)) {
                throw corrupted(metaFile, "its 'sha256' table has no entry for " + f);
            }
        }
        for (Map.Entry<?, ?> e : sums.entrySet()) {
            if (!(e.getKey() instanceof String file) || !(e.getValue() instanceof String sum)
                    || !List.of(FILES).contains(file)) {
                throw corrupted(metaFile, "its 'sha256' table has a garbled entry '" + e.getKey() + "'");
            }
            Path f = ckpt.resolve(file);
            if (!Files.exists(f)) {
                throw new CheckpointException(f, "checkpoint " + ckpt + " is incomplete: " + file + " is missing");
            }
            if (!sha256(f).equals(sum)) {
                throw new CheckpointException(f, "checkpoint " + ckpt + " is corrupted: " + file
                        + " does not match its SHA-256 in meta.yaml; use an older checkpoint or start afresh");
            }
        }
        return ((Number) step).longValue();
    }

    /** The step a checkpoint directory's name says ({@code step-N} or {@code .replaced-step-N}), or null. */
    private static Long stepOfName(Path ckpt) {
        String n = ckpt.getFileName() == null ? "" : ckpt.getFileName().toString();
        String digits = n.startsWith(PREFIX) ? n.substring(PREFIX.length())
                : n.startsWith(REPLACED) ? n.substring(REPLACED.length()) : null;
        return digits != null && digits.matches("\\d{1,18}") ? Long.valueOf(digits) : null;
    }

    private static CheckpointException corrupted(Path metaFile, String why) {
        return new CheckpointException(metaFile, "corrupted checkpoint " + metaFile.getParent() + ": meta.yaml " + why
                + "; use an older checkpoint or start afresh");
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "no details";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Loads model.pt of a (verified) checkpoint; a file libtorch cannot read is refused naming it, without a C++ trace. */
    public static void loadModel(Path ckpt, Module model) {
        try {
            InputArchive a = new InputArchive();
            a.load_from(ckpt.resolve("model.pt").toString());
            model.load(a);
        } catch (RuntimeException e) {
            throw new CheckpointException(ckpt.resolve("model.pt"), "checkpoint " + ckpt + ": model.pt does not fit "
                    + "this model (" + firstLine(e.getMessage()) + ")", e);
        }
    }

    public static void loadOptimizer(Path ckpt, Optimizer optimizer) {
        loadTrainingState(ckpt, optimizer);
    }

    /** Loads optimizer.pt into {@code optimizer} and returns the loss-scale state kept beside it, or null if none. */
    static LossScaler.State loadTrainingState(Path ckpt, Optimizer optimizer) {
        if (!Files.exists(ckpt.resolve("optimizer.pt"))) {
            throw new CheckpointException(ckpt.resolve("optimizer.pt"), "checkpoint " + ckpt + " holds no optimizer "
                    + "state (optimizer.pt); it can be evaluated but not resumed");
        }
        InputArchive a = new InputArchive();
        a.load_from(ckpt.resolve("optimizer.pt").toString());
        optimizer.load(a);
        IValue scale = new IValue();
        IValue tracker = new IValue();
        if (!a.try_read(LOSS_SCALE, scale) || !a.try_read(LOSS_SCALE_TRACKER, tracker)) {
            return null;
        }
        try {
            return new LossScaler.State(scale.toDouble(), tracker.toInt());
        } catch (RuntimeException e) {
            throw new CheckpointException(ckpt.resolve("optimizer.pt"), "checkpoint " + ckpt + ": optimizer.pt holds "
                    + "an unreadable loss-scale state (" + firstLine(e.getMessage()) + ")", e);
        }
    }

    private static void prune(Path root, int keep, Set<Long> kept) throws IOException {
        List<Path> all = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(root, PREFIX + "*")) {
            for (Path p : s) {
                String digits = p.getFileName().toString().substring(PREFIX.length());
                if (!(digits.matches("\\d+") && kept.contains(Long.parseLong(digits)))) {
                    all.add(p);
                }
            }
        }
        all.sort(null);   // zero-padded step numbers: name order is step order
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

    static String sha256(byte[] bytes) {
        return Sha256.hex(bytes);
    }

    static String sha256(Path f) throws IOException {
        return Sha256.hex(f);
    }
}
