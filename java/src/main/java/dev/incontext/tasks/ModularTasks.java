package dev.incontext.tasks;

import dev.incontext.ops.Rng;
import dev.incontext.config.ModularConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The task sets and example split of He et al. 2024 (papers.md §3.1) for z = (a x + b y) mod p. Built on the host
 * once per run: they are a few hundred small integer pairs, drawn with a {@link Random} seeded from the run seed,
 * so that the same config always gives the same sets. Batches are then sampled on the device by
 * {@link ModularSampler}.
 *
 * @param p the modulus
 * @param idTasks pre-training (in-distribution) task vectors (a, b)
 * @param oodTasks out-of-distribution task vectors: never in {@code idTasks}
 * @param trainPairs the (x, y) pairs used for training, the same for every task
 * @param testPairs the held-out (x, y) pairs: the rest of Z_p^2
 */
public record ModularTasks(int p, List<int[]> idTasks, List<int[]> oodTasks, List<int[]> trainPairs,
        List<int[]> testPairs) {

    /** The sets a config describes, drawn from the run seed. */
    public static ModularTasks of(ModularConfig.Task t, long seed) {
        Random taskRng = new Random(Rng.derive(seed, Rng.Stream.POOL, 0x40D));
        Random pairRng = new Random(Rng.derive(seed, Rng.Stream.POOL, 0x40E));
        return build(t.p(), t.nTasksPl(), t.parallelogram(), t.nTasksRd(), t.maxOodTasks(), t.trainPairs(), taskRng,
                pairRng);
    }

    static ModularTasks build(int p, int nSeeds, boolean parallelogram, int nRandom, int maxOod, int nTrainPairs,
            Random taskRng, Random pairRng) {
        List<int[]> all = allPairs(p);
        List<int[]> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, taskRng);
        List<int[]> id = new ArrayList<>(shuffled.subList(0, nSeeds));
        Set<Long> used = new HashSet<>();
        id.forEach(w -> used.add(key(p, w)));
        if (parallelogram) {
            for (int[] seedTask : new ArrayList<>(id)) {
                for (int[] c : companions(p, seedTask, used, taskRng)) {
                    id.add(c);
                    used.add(key(p, c));
                }
            }
        }
        List<int[]> rest = new ArrayList<>();
        for (int[] w : shuffled) {
            if (!used.contains(key(p, w))) {
                rest.add(w);
            }
        }
        Collections.shuffle(rest, taskRng);
        for (int i = 0; i < nRandom; i++) {
            int[] w = rest.remove(rest.size() - 1);
            id.add(w);
            used.add(key(p, w));
        }
        // The reference caps the o.o.d. set and truncates it to a multiple of 8 (its evaluation batches).
        int nOod = Math.min(maxOod, rest.size()) / 8 * 8;
        if (nOod == 0) {
            throw new IllegalArgumentException(id.size() + " pre-training tasks leave " + rest.size() + " of the " + p
                    + "^2 tasks, fewer than the 8 o.o.d. tasks needed; use fewer tasks or a larger p");
        }
        List<int[]> ood = new ArrayList<>(rest.subList(0, nOod));
        List<int[]> pairs = new ArrayList<>(all);
        Collections.shuffle(pairs, pairRng);
        return new ModularTasks(p, List.copyOf(id), List.copyOf(ood), List.copyOf(pairs.subList(0, nTrainPairs)),
                List.copyOf(pairs.subList(nTrainPairs, pairs.size())));
    }

    /**
     * Three companions of a seed (a, b): (a, y'), (x', b), (x', y') with x' not in {a, b} and y' not in {a, b, x'},
     * none already chosen, so the four tasks are distinct and span a parallelogram.
     */
    static List<int[]> companions(int p, int[] seedTask, Set<Long> used, Random rng) {
        int a = seedTask[0];
        int b = seedTask[1];
        for (int attempt = 0; attempt < 10_000; attempt++) {
            int x = rng.nextInt(p);
            int y = rng.nextInt(p);
            if (x == a || x == b || y == a || y == b || y == x) {
                continue;
            }
            List<int[]> c = List.of(new int[] {a, y}, new int[] {x, b}, new int[] {x, y});
            if (c.stream().noneMatch(w -> used.contains(key(p, w)))) {
                return c;
            }
        }
        throw new IllegalArgumentException("cannot find parallelogram companions for task (" + a + ", " + b + ") in Z_"
                + p + ": too many pre-training tasks for this p");
    }

    /** All p^2 pairs of Z_p, in lexicographic order. */
    public static List<int[]> allPairs(int p) {
        List<int[]> all = new ArrayList<>(p * p);
        for (int i = 0; i < p; i++) {
            for (int j = 0; j < p; j++) {
                all.add(new int[] {i, j});
            }
        }
        return all;
    }

    static long key(int p, int[] w) {
        return (long) w[0] * p + w[1];
    }

    /** z = (a x + b y) mod p. */
    public static int label(int p, int[] task, int[] pair) {
        return (task[0] * pair[0] + task[1] * pair[1]) % p;
    }

    /** Flattened row-major (n, 2) copy, for building device tensors. */
    static long[] flat(List<int[]> pairs) {
        long[] out = new long[pairs.size() * 2];
        for (int i = 0; i < pairs.size(); i++) {
            out[2 * i] = pairs.get(i)[0];
            out[2 * i + 1] = pairs.get(i)[1];
        }
        return out;
    }

    @Override
    public String toString() {
        return "ModularTasks[p=" + p + ", id=" + idTasks.size() + ", ood=" + oodTasks.size() + ", train pairs="
                + trainPairs.size() + ", test pairs=" + testPairs.size() + ", first id task="
                + (idTasks.isEmpty() ? "-" : Arrays.toString(idTasks.get(0))) + "]";
    }
}
