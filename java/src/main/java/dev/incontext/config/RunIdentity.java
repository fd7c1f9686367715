package dev.incontext.config;

import dev.incontext.util.Sha256;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Which keys of a run's config make it the run it is, and which are run-local: the one rule, for every kind of run,
 * that says whether a checkpoint may be continued under another config. A run-local key changes where or how fast a
 * run goes, how often it logs or saves, or what is evaluated after training, never the weights it trains; every
 * other key must be equal for a resume.
 */
public final class RunIdentity {
    /**
     * The run-local keys: a key listed here, or any key under a listed section ending in '.', may differ between a
     * run and its resume. {@code training.steps} may grow: a resumed run continues to the new last step (the
     * schedule is a function of the step and of steps, so a changed step count changes the schedule from there on).
     */
    public static final List<String> RUN_LOCAL = List.of(
            "out_dir", "device",
            "training.steps", "training.threads", "training.blas_threads", "training.world_size", "training.blas",
            "training.log_every",
            "training.save_every", "training.keep_checkpoints",
            // Regression runs: evaluation after training.
            "eval.num_prompts", "eval.batch_size", "eval.n_points", "eval.knn_k", "eval.baselines", "eval.precision",
            // Token runs: when to evaluate and which checkpoints to keep (eval.rows changes the metrics, so it stays).
            "eval.every", "eval.n_checkpoints", "phase_diagram.");

    /**
     * Keys added after runs were made, with the value every earlier run had: left out of the digest at that value, so
     * the identity of an earlier run (and of a sweep cell it trained) does not change when the key appears.
     */
    static final Map<String, Object> ADDED_LATER = Map.of("training.precision", "float32");

    private RunIdentity() {}

    /**
     * The run's identity: the SHA-256 of its resolved config with the run-local keys removed, as canonical YAML
     * (keys in record order). Two configs have the same identity exactly when {@link #differences} finds none.
     */
    public static String digest(RunSpec config) {
        return Sha256.hex(canonical(config));
    }

    /** What {@link #digest} hashes: the kind, then the pruned config as YAML. */
    static String canonical(RunSpec config) {
        Map<String, Object> m = RecordBinder.toMap((Record) config);
        prune("", m);
        return config.kind().id() + "\n" + new org.yaml.snakeyaml.Yaml().dump(m);
    }

    @SuppressWarnings("unchecked")
    private static void prune(String path, Map<String, Object> m) {
        m.keySet().removeIf(k -> isRunLocal(path + k));
        m.entrySet().removeIf(e -> ADDED_LATER.containsKey(path + e.getKey())
                && String.valueOf(ADDED_LATER.get(path + e.getKey())).equals(String.valueOf(e.getValue())));
        for (Map.Entry<String, Object> e : m.entrySet()) {
            if (e.getValue() instanceof Map) {
                prune(path + e.getKey() + ".", (Map<String, Object>) e.getValue());
            }
        }
    }

    /** Whether {@code key} (a dotted path such as {@code training.threads}) is run-local. */
    public static boolean isRunLocal(String key) {
        for (String k : RUN_LOCAL) {
            if (k.endsWith(".") ? key.startsWith(k) : key.equals(k)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The keys that are not run-local and differ between {@code saved} and {@code now}, each as
     * {@code key (saved: x, now: y)}; empty when {@code now} may continue {@code saved}. Runs of different kinds
     * always differ.
     */
    public static List<String> differences(RunSpec saved, RunSpec now) {
        List<String> out = new ArrayList<>();
        if (saved.kind() != now.kind()) {
            out.add("kind (saved: " + saved.kind().id() + ", now: " + now.kind().id() + ")");
            return out;
        }
        compare("", RecordBinder.toMap((Record) saved), RecordBinder.toMap((Record) now), out);
        return out;
    }

    @SuppressWarnings("unchecked")
    private static void compare(String path, Map<String, Object> a, Map<String, Object> b, List<String> out) {
        for (String k : a.keySet()) {
            Object x = a.get(k);
            Object y = b.get(k);
            String key = path + k;
            if (isRunLocal(key)) {
                continue;
            }
            if (x instanceof Map && y instanceof Map) {
                compare(key + ".", (Map<String, Object>) x, (Map<String, Object>) y, out);
            } else if (!Objects.equals(x, y)) {
                out.add(key + " (saved: " + x + ", now: " + y + ")");
            }
        }
    }
}
