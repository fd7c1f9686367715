package dev.incontext.tasks;

import dev.incontext.ops.Rng;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigException;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.ModularConfig;
import dev.incontext.tasks.ModularSampler.Split;
import dev.incontext.testing.NativeScope;
import dev.incontext.util.Tensors;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class ModularTasksTest {
    private static final TensorOptions F32 = new TensorOptions(torch.ScalarType.Float);

    private static ModularConfig config(String... overrides) {
        return ConfigLoader.load(ModularConfig.class, null, List.of(overrides));
    }

    private static Set<Long> keys(int p, List<int[]> ws) {
        Set<Long> s = new HashSet<>();
        ws.forEach(w -> s.add((long) w[0] * p + w[1]));
        return s;
    }

    @Test
    void parallelogramCompanionsAreDistinctAndInZp() {
        ModularConfig c = config("task.p=29", "task.n_tasks_pl=32", "task.alpha=0.8");
        ModularTasks t = ModularTasks.of(c.task(), 7);
        List<int[]> id = t.idTasks();
        assertEquals(128, id.size());
        assertEquals(128, keys(29, id).size(), "pre-training tasks must be distinct");
        for (int[] w : id) {
            assertTrue(w[0] >= 0 && w[0] < 29 && w[1] >= 0 && w[1] < 29, "task outside Z_29: " + w[0] + "," + w[1]);
        }
        // Seeds come first, then each seed's three companions (a, y'), (x', b), (x', y').
        for (int i = 0; i < 32; i++) {
            int[] s = id.get(i);
            int[] c0 = id.get(32 + 3 * i);
            int[] c1 = id.get(33 + 3 * i);
            int[] c2 = id.get(34 + 3 * i);
            assertEquals(s[0], c0[0]);
            assertEquals(s[1], c1[1]);
            assertArrayEquals(new int[] {c1[0], c0[1]}, c2);
            int x = c1[0];
            int y = c0[1];
            assertTrue(x != s[0] && x != s[1] && y != s[0] && y != s[1] && x != y,
                    "x' and y' must avoid a, b and each other: seed " + s[0] + "," + s[1] + " x'=" + x + " y'=" + y);
        }
    }

    @Test
    void oodTasksNeverAppearInPretrainingAndAreCappedToMultiplesOf8() {
        for (int seeds : new int[] {2, 16, 100}) {
            ModularConfig c = config("task.p=29", "task.n_tasks_pl=" + seeds, "task.n_tasks_rd=3", "task.alpha=0.8");
            ModularTasks t = ModularTasks.of(c.task(), 1);
            Set<Long> id = keys(29, t.idTasks());
            Set<Long> ood = keys(29, t.oodTasks());
            assertEquals(4 * seeds + 3, id.size());
            assertEquals(t.oodTasks().size(), ood.size(), "o.o.d. tasks must be distinct");
            ood.retainAll(id);
            assertTrue(ood.isEmpty(), "o.o.d. tasks found among pre-training tasks: " + ood);
            int expected = Math.min(256, 29 * 29 - (4 * seeds + 3)) / 8 * 8;
            assertEquals(expected, t.oodTasks().size());
        }
    }

    @Test
    void alphaSplitPartitionsThePairsAndIsTheSameForEveryTask() {
        ModularConfig c = config("task.p=13", "task.alpha=0.6", "task.points_per_row=16");
        ModularTasks t = ModularTasks.of(c.task(), 3);
        assertEquals(Math.round(0.6 * 169), t.trainPairs().size());
        Set<Long> train = keys(13, t.trainPairs());
        Set<Long> test = keys(13, t.testPairs());
        assertEquals(t.trainPairs().size(), train.size());
        assertEquals(169, train.size() + test.size());
        Set<Long> both = new HashSet<>(train);
        both.retainAll(test);
        assertTrue(both.isEmpty());
        // Every row of every task draws from the one split: the pairs a task sees in training are the same set.
        ModularSampler s = new ModularSampler(t, 16, F32);
        for (Split split : Split.values()) {
            TokenBatch b = s.sample(split, 96, Rng.cpu(11));
            double[] pairs = Tensors.toDoubleArray(b.pairs());
            double[] tasks = Tensors.toDoubleArray(b.tasks());
            Map<Long, Set<Long>> seenPerTask = new HashMap<>();
            for (int r = 0; r < 96; r++) {
                long task = (long) tasks[2 * r] * 13 + (long) tasks[2 * r + 1];
                Set<Long> row = new HashSet<>();
                for (int i = 0; i < 16; i++) {
                    long pair = (long) pairs[(r * 16 + i) * 2] * 13 + (long) pairs[(r * 16 + i) * 2 + 1];
                    assertTrue((split == Split.ID_TRAIN || split == Split.OOD_TRAIN ? train : test).contains(pair),
                            split + ": pair " + pair + " is outside its split");
                    row.add(pair);
                    seenPerTask.computeIfAbsent(task, k -> new HashSet<>()).add(pair);
                }
                assertEquals(16, row.size(), "a row's examples must be distinct pairs");
                assertTrue((split == Split.ID_TRAIN || split == Split.ID_TEST ? keys(13, t.idTasks())
                        : keys(13, t.oodTasks())).contains(task), split + ": task from the wrong set");
            }
        }
    }

    @Test
    void everyZIsTheTaskAppliedToItsPairAndTokensAreXyz() {
        ModularConfig c = config();
        ModularTasks t = ModularTasks.of(c.task(), 5);
        int p = c.task().p();
        int n = c.task().pointsPerRow();
        ModularSampler s = new ModularSampler(t, n, F32);
        int rows = 64;
        TokenBatch b = s.sample(Split.OOD_TEST, rows, Rng.cpu(2));
        assertEquals(3L * n - 1, b.inputs().size(1));
        double[] tok = Tensors.toDoubleArray(b.inputs());
        double[] z = Tensors.toDoubleArray(b.z());
        double[] tasks = Tensors.toDoubleArray(b.tasks());
        double[] pairs = Tensors.toDoubleArray(b.pairs());
        for (int r = 0; r < rows; r++) {
            int[] w = {(int) tasks[2 * r], (int) tasks[2 * r + 1]};
            for (int i = 0; i < n; i++) {
                int[] xy = {(int) pairs[(r * n + i) * 2], (int) pairs[(r * n + i) * 2 + 1]};
                int expected = (w[0] * xy[0] + w[1] * xy[1]) % p;
                assertEquals(expected, (int) z[r * n + i], "row " + r + " example " + i);
                int base = r * (3 * n - 1) + 3 * i;
                assertEquals(xy[0], (int) tok[base]);
                assertEquals(xy[1], (int) tok[base + 1]);
                if (i < n - 1) {
                    assertEquals(expected, (int) tok[base + 2], "the z token follows x y");
                }
            }
        }
    }

    @Test
    void rowsAreSpreadEquallyOverTheTasks() {
        ModularConfig c = config("task.p=13", "task.n_tasks_pl=4");   // 16 pre-training tasks
        ModularSampler s = new ModularSampler(ModularTasks.of(c.task(), 0), 16, F32);
        double[] tasks = Tensors.toDoubleArray(s.sample(Split.ID_TRAIN, 64, Rng.cpu(9)).tasks());
        Map<Long, Integer> count = new HashMap<>();
        for (int r = 0; r < 64; r++) {
            count.merge((long) tasks[2 * r] * 13 + (long) tasks[2 * r + 1], 1, Integer::sum);
        }
        assertEquals(16, count.size());
        count.values().forEach(v -> assertEquals(4, v));
    }

    @Test
    void sameSeedSameSetsOtherSeedOtherSets() {
        ModularConfig c = config("task.p=13", "task.n_tasks_pl=8");
        ModularTasks a = ModularTasks.of(c.task(), 42);
        ModularTasks b = ModularTasks.of(c.task(), 42);
        ModularTasks d = ModularTasks.of(c.task(), 43);
        assertEquals(keys(13, a.idTasks()), keys(13, b.idTasks()));
        assertEquals(keys(13, a.trainPairs()), keys(13, b.trainPairs()));
        assertNotEquals(keys(13, a.idTasks()), keys(13, d.idTasks()));
        assertFalse(a.toString().isEmpty());
    }

    @Test
    void badConfigsNameTheKey() {
        ConfigException e = assertThrows(ConfigException.class, () -> config("task.p=12"));
        assertTrue(e.getMessage().contains("p") && e.getMessage().contains("prime"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> config("task.p=5", "task.n_tasks_pl=6"));
        assertTrue(e.getMessage().contains("n_tasks_pl"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> config("task.points_per_row=200"));
        assertTrue(e.getMessage().contains("points_per_row"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> config("phase_diagram.alpha=[0.6, 0.95]"));
        assertTrue(e.getMessage().contains("phase_diagram") && e.getMessage().contains("alpha = 0.95")
                && e.getMessage().contains("task.points_per_row"), e.getMessage());   // 6 held-out pairs < 12 a row
        e = assertThrows(ConfigException.class, () -> config("training.optimizer=adam"));
        assertTrue(e.getMessage().contains("training.optimizer") && e.getMessage().contains("adamw"), e.getMessage());
    }
}
