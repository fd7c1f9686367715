package dev.incontext.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The one rule of which keys may differ between a run and its resume. */
class RunIdentityTest {
    private static RunConfig regression(String... overrides) {
        return ConfigLoader.load(RunConfig.class, "demo", List.of(overrides));
    }

    private static ModularConfig tokens(String... overrides) {
        return ConfigLoader.load(ModularConfig.class, null, List.of(overrides));
    }

    @Test
    void runLocalKeysMayDiffer() {
        RunConfig a = regression();
        RunConfig b = regression("training.threads=2", "training.blas_threads=2", "training.log_every=7",
                "training.save_every=3", "training.keep_checkpoints=9", "out_dir=elsewhere", "training.steps=99999",
                "eval.num_prompts=5", "eval.baselines=[ridge:0.5]", "eval.knn_k=[1]", "eval.precision=bf16");
        assertEquals(List.of(), RunIdentity.differences(a, b));
        ModularConfig t = tokens();
        assertEquals(List.of(), RunIdentity.differences(t, ConfigLoader.withOverrides(t, List.of("eval.every=3",
                "eval.n_checkpoints=1", "phase_diagram.n_tasks_pl=[1]", "training.threads=1"))));
    }

    /** Every key that changes what is trained is part of the identity: the whole training section included. */
    @Test
    void everyOtherKeyIsNamed() {
        RunConfig a = regression();
        for (String o : List.of("training.learning_rate=0.5", "training.weight_decay=0.1", "training.schedule=triangle",
                "training.grad_clip=1.0", "training.beta2=0.95", "training.batch_size=3", "seed=5",
                "model.n_embd=32", "task.noise_std=0.5", "curriculum.points.interval=12345", "training.precision=bf16")) {
            List<String> d = RunIdentity.differences(a, regression(o));
            assertEquals(1, d.size(), o + ": " + d);
            assertTrue(d.get(0).startsWith(o.substring(0, o.indexOf('=')) + " (saved: "), d.get(0));
        }
        assertFalse(RunIdentity.differences(tokens(), tokens("eval.rows=7")).isEmpty(), "eval.rows changes metrics");
    }

    /**
     * A key added later is left out of the digest at the value every earlier run had (training.precision: float32),
     * so earlier runs and sweep cells keep their identity; any other value changes it.
     */
    @Test
    void keysAddedLaterKeepEarlierIdentities() {
        assertEquals("float32", RunIdentity.ADDED_LATER.get("training.precision"));
        RunConfig a = regression();
        assertFalse(RunIdentity.canonical(a).contains("precision"), "float32 is what every earlier run had");
        assertTrue(RunIdentity.canonical(regression("training.precision=bf16")).contains("precision: bf16"));
        assertNotEquals(RunIdentity.digest(a), RunIdentity.digest(regression("training.precision=bf16")));
    }

    @Test
    void runsOfAnotherKindAlwaysDiffer() {
        assertEquals(List.of("kind (saved: tokens, now: regression)"), RunIdentity.differences(tokens(), regression()));
    }

    @Test
    void listedKeysExistInSomeConfig() {
        List<String> keys = new ArrayList<>();
        collect("", RecordBinder.toMap(regression()), keys);
        collect("", RecordBinder.toMap(tokens()), keys);
        for (String k : RunIdentity.RUN_LOCAL) {
            assertTrue(keys.stream().anyMatch(x -> k.endsWith(".") ? x.startsWith(k) : x.equals(k)), k);
        }
    }

    @SuppressWarnings("unchecked")
    private static void collect(String path, Map<String, Object> m, List<String> out) {
        m.forEach((k, v) -> {
            if (v instanceof Map) {
                collect(path + k + ".", (Map<String, Object>) v, out);
            } else {
                out.add(path + k);
            }
        });
    }
}
