package dev.incontext.config;

import dev.incontext.config.RunConfig.AttentionImpl;
import dev.incontext.config.RunConfig.OptimizerKind;
import dev.incontext.config.RunConfig.TrainingConfig;
import java.util.List;
import java.util.Locale;

/**
 * One run (and its phase diagram) of He et al. 2024's in-context modular arithmetic (papers.md §3): tasks
 * z = (a x + b y) mod p as token sequences {@code x y z}, a RoPE decoder, cross-entropy on the z tokens.
 *
 * <p>This is a root config of its own rather than a section of {@link RunConfig}: a regression run's keys (n_dims,
 * curriculum, encodings, n_positions, least-squares evaluation) mean nothing for token tasks, and a token task's
 * keys (p, the example split, pre-training task sets) mean nothing for regression. What every run has (seed, device,
 * out_dir, training) is the same {@link RunBasics} record. Loaded by {@link ConfigLoader#load}; the shipped {@code he_modular.yaml} lists every key with its default.
 */
public record ModularConfig(@Flattened RunBasics run, Task task, Model model, boolean decayEmbeddings, Eval eval,
        PhaseDiagram phaseDiagram) implements RunSpec {

    public ModularConfig {
        TrainingConfig training = run.training();
        if (training.optimizer() != OptimizerKind.ADAMW) {
            throw new ConfigException("training.optimizer", "modular arithmetic trains with adamw (weight decay on "
                    + "matrices only, He et al.); got " + training.optimizer().name().toLowerCase(Locale.ROOT));
        }
        for (int n : phaseDiagram.nTasksPl()) {
            for (double a : phaseDiagram.alpha()) {
                try {
                    task.withSeedTasks(n).withAlpha(a);   // every cell of the grid is a valid task config
                } catch (ConfigException e) {
                    throw new ConfigException("phase_diagram", "the cell n_tasks_pl = " + n + ", alpha = " + a
                            + " is not a valid task: task." + e.getMessage());
                }
            }
        }
        for (int w : phaseDiagram.nEmbd()) {
            try {
                model.withWidth(w);   // every width of the grid is a valid model for the config's heads
            } catch (ConfigException e) {
                throw new ConfigException("phase_diagram", "the width n_embd = " + w + " is not a valid model: model."
                        + e.getMessage());
            }
        }
    }

    @Override
    public RunKind kind() {
        return RunKind.TOKENS;
    }

    /** The number of token positions one row of {@code points_per_row} examples needs (inputs: 3n - 1 tokens). */
    public int contextLength() {
        return 3 * task.pointsPerRow() - 1;
    }

    /**
     * One cell of the phase diagram as a run of its own: a copy with another pre-training task count, depth and split,
     * whose phase diagram is that one point (so that the cell's config does not change when the grid grows).
     */
    public ModularConfig cell(int nTasksPl, int nLayer, double alpha, String cellOutDir) {
        return new ModularConfig(run.withOutDir(cellOutDir), task.withSeedTasks(nTasksPl).withAlpha(alpha),
                model.withLayers(nLayer), decayEmbeddings, eval,
                new PhaseDiagram(List.of(nTasksPl), List.of(nLayer), List.of(alpha), List.of(), List.of()));
    }

    /**
     * Tasks and examples (papers.md §3.1). {@code n_tasks_pl} random seed tasks, each with three parallelogram
     * companions when {@code parallelogram} is on (n_i.d. = 4 n_tasks_pl), plus {@code n_tasks_rd} further random
     * tasks; the o.o.d. tasks are the rest of Z_p^2, shuffled, capped at {@code max_ood_tasks} and truncated to a
     * multiple of 8. A fraction {@code alpha} of the p^2 pairs (x, y) is used for training, the same for every task.
     */
    public record Task(int p, int nTasksPl, boolean parallelogram, int nTasksRd, int maxOodTasks, double alpha,
            int pointsPerRow) {
        public Task {
            if (p < 5 || p > 251 || !isPrime(p)) {
                throw new ConfigException("p", "must be a prime in 5..251 (a modulus of Z_p); got " + p);
            }
            if (nTasksPl < 0 || nTasksRd < 0 || nTasksPl + nTasksRd < 1) {
                throw new ConfigException("n_tasks_pl", "n_tasks_pl and n_tasks_rd must be >= 0 with at least one "
                        + "task; got " + nTasksPl + " and " + nTasksRd);
            }
            long pretrain = (long) (parallelogram ? 4 : 1) * nTasksPl + nTasksRd;
            if (pretrain > (long) p * p - 8) {
                throw new ConfigException("n_tasks_pl", pretrain + " pre-training tasks leave fewer than 8 of the "
                        + p + "^2 = " + (long) p * p + " tasks for o.o.d. evaluation");
            }
            if (maxOodTasks < 8) {
                throw new ConfigException("max_ood_tasks", "must be >= 8; got " + maxOodTasks);
            }
            if (!(alpha > 0 && alpha < 1)) {
                throw new ConfigException("alpha", "the fraction of (x, y) pairs used for training must be in (0, 1); "
                        + "got " + alpha);
            }
            long trainPairs = Math.round(alpha * p * p);
            if (pointsPerRow < 2 || pointsPerRow > Math.min(trainPairs, (long) p * p - trainPairs)) {
                throw new ConfigException("points_per_row", "must be in 2..min(train pairs, held-out pairs) = 2.."
                        + Math.min(trainPairs, (long) p * p - trainPairs) + " (rows hold distinct pairs); got "
                        + pointsPerRow);
            }
        }

        /** Number of pre-training (in-distribution) tasks. */
        public int idTasks() {
            return (parallelogram ? 4 : 1) * nTasksPl + nTasksRd;
        }

        /** Number of (x, y) pairs in the training split: round(alpha p^2). */
        public int trainPairs() {
            return (int) Math.round(alpha * p * p);
        }

        /** Vocabulary size as in the reference: digits 0..p, 10 special tokens, 7 position hints. */
        public int vocabSize() {
            return p + 18;
        }

        Task withSeedTasks(int n) {
            return new Task(p, n, parallelogram, nTasksRd, maxOodTasks, alpha, pointsPerRow);
        }

        Task withAlpha(double a) {
            return new Task(p, nTasksPl, parallelogram, nTasksRd, maxOodTasks, a, pointsPerRow);
        }

        static boolean isPrime(int n) {
            if (n < 2) {
                return false;
            }
            for (int i = 2; (long) i * i <= n; i++) {
                if (n % i == 0) {
                    return false;
                }
            }
            return true;
        }
    }

    /** MLP activation of the RoPE decoder. */
    public enum Activation { RELU, GELU, SWIGLU }

    /** The RoPE decoder (papers.md §3.2): depth, heads, width, MLP activation, attention implementation. */
    public record Model(int nLayer, int nHead, int nEmbd, Activation activation, AttentionImpl attention,
            double ropeBase) {
        public Model {
            if (nLayer < 1 || nHead < 1 || nEmbd < 1) {
                throw new ConfigException("n_layer", "n_layer, n_head and n_embd must be >= 1; got " + nLayer + ", "
                        + nHead + ", " + nEmbd);
            }
            if (nEmbd % nHead != 0 || (nEmbd / nHead) % 2 != 0) {
                throw new ConfigException("n_embd", "n_embd / n_head must be an even integer (RoPE rotates pairs of "
                        + "coordinates); got " + nEmbd + " / " + nHead);
            }
            if (!(ropeBase > 1)) {
                throw new ConfigException("rope_base", "must be > 1; got " + ropeBase);
            }
        }

        Model withLayers(int l) {
            return new Model(l, nHead, nEmbd, activation, attention, ropeBase);
        }

        Model withWidth(int w) {
            return new Model(nLayer, nHead, w, activation, attention, ropeBase);
        }
    }

    /**
     * Evaluation during training: every {@code every} steps, {@code rows} rows of each of the four sets; and
     * {@code n_checkpoints} checkpoints log-spaced between the end of warm-up and the last step.
     */
    public record Eval(int every, int rows, int nCheckpoints) {
        public Eval {
            if (every < 1 || rows < 1 || nCheckpoints < 0) {
                throw new ConfigException("every", "every and rows must be >= 1 and n_checkpoints >= 0; got " + every
                        + ", " + rows + ", " + nCheckpoints);
            }
        }
    }

    /**
     * The phase diagram's grid: every combination of n_tasks_pl x n_layer x alpha (x batch_size x n_embd when those
     * are given) is one run; the heatmap shows the o.o.d. accuracy on held-out pairs at the last shot. batch_size and
     * n_embd are the scaling study's axes: empty (the default) keeps the run's own training.batch_size and
     * model.n_embd and adds no axis.
     */
    public record PhaseDiagram(List<Integer> nTasksPl, List<Integer> nLayer, List<Double> alpha,
            List<Integer> batchSize, List<Integer> nEmbd) {
        public PhaseDiagram {
            if (nTasksPl.isEmpty() || nLayer.isEmpty() || alpha.isEmpty()) {
                throw new ConfigException("n_tasks_pl", "n_tasks_pl, n_layer and alpha each need at least one value");
            }
            batchSize = List.copyOf(batchSize);
            nEmbd = List.copyOf(nEmbd);
            for (int b : batchSize) {
                if (b < 1) {
                    throw new ConfigException("batch_size", "every batch size must be >= 1 row; got " + b);
                }
            }
            for (int l : nLayer) {
                if (l < 1) {
                    throw new ConfigException("n_layer", "every depth must be >= 1; got " + l);
                }
            }
            for (double a : alpha) {
                if (!(a > 0 && a < 1)) {
                    throw new ConfigException("alpha", "every alpha must be in (0, 1); got " + a);
                }
            }
        }
    }
}
