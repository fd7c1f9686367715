package dev.incontext.config;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One fully resolved, validated run: what to train, on what, how, and how to evaluate it. Built by
 * {@link ConfigLoader} from YAML (with {@code inherit:}) plus {@code --key=value} overrides; saved next to every
 * checkpoint and result as {@code config.yaml}.
 */
public record RunConfig(@Flattened RunBasics run, ModelConfig model, TaskConfig task, CurriculumConfig curriculum,
        EvalConfig eval) implements RunSpec {

    public RunConfig {
        if (curriculum.points().end() > model.nPositions()) {
            throw new ConfigException("curriculum.points.end", "is " + curriculum.points().end()
                    + " but the model has positions for model.n_positions = " + model.nPositions() + " points");
        }
        if (curriculum.dims().end() > task.nDims()) {
            throw new ConfigException("curriculum.dims.end", "is " + curriculum.dims().end()
                    + " but task.n_dims = " + task.nDims());
        }
        if (eval.nPoints() > model.nPositions()) {
            throw new ConfigException("eval.n_points", "is " + eval.nPoints() + " but model.n_positions = "
                    + model.nPositions());
        }
    }

    @Override
    public RunKind kind() {
        return RunKind.REGRESSION;
    }

    /** Number of points per prompt at evaluation: eval.n_points, or the curriculum's final length when 0. */
    public int evalPoints() {
        return eval.nPoints() > 0 ? eval.nPoints() : curriculum.points().end();
    }

    public enum ModelFamily { GPT2, LSA }

    public enum ModelPreset { STANDARD, SMALL, TINY, CUSTOM }

    public enum AttentionImpl { INCONTEXT, SDPA }

    public enum EncodingKind { INTERLEAVED, TOKEN_PAIR, TOKEN_PAIR_XY, CONCAT }

    public enum OptimizerKind { ADAM, ADAMW }

    public enum ScheduleKind { CONSTANT, WARMUP_COSINE, TRIANGLE }

    /**
     * The arithmetic of a model's forward passes: float32; bf16 (bfloat16 matrix products and attention under
     * libtorch's autocast, float32 parameters, optimiser state, loss and checkpoints; float32 on a CPU without
     * hardware bfloat16, said once); or fp16 (the same with float16, and in training dynamic loss scaling, since
     * float16 gradients overflow; meant for CUDA, emulated and slow on most CPUs, said once).
     */
    public enum Precision { FLOAT32, BF16, FP16 }

    public enum TaskKind {
        LINEAR_REGRESSION, NOISY_LINEAR_REGRESSION, SPARSE_LINEAR_REGRESSION, LINEAR_CLASSIFICATION,
        QUADRATIC_REGRESSION, RELU_2NN_REGRESSION, DECISION_TREE
    }

    public enum XDistribution { ISOTROPIC, SKEWED, HALF_SUBSPACE, RANDOM_DIAGONAL, ORTHANTS, UNIFORM }

    /**
     * The model. Presets (Garg et al.): standard 12 layers / 8 heads / 256 wide, small 6/4/128, tiny 3/2/64;
     * n_layer, n_head, n_embd of 0 take the preset's value, and must all be set with preset custom.
     */
    public record ModelConfig(ModelFamily family, ModelPreset preset, int nLayer, int nHead, int nEmbd,
            AttentionImpl attention, EncodingKind encoding, int nPositions, double lsaInitSigma) {
        public ModelConfig {
            if (!(lsaInitSigma > 0) || Double.isInfinite(lsaInitSigma)) {
                throw new ConfigException("lsa_init_sigma", "must be a finite number > 0; got " + lsaInitSigma);
            }
            if (nLayer < 0 || nHead < 0 || nEmbd < 0) {
                throw new ConfigException("", "n_layer, n_head and n_embd must be >= 0 (0 = from the preset)");
            }
            if (preset == ModelPreset.CUSTOM && family == ModelFamily.GPT2 && (nLayer == 0 || nHead == 0 || nEmbd == 0)) {
                throw new ConfigException("preset", "custom needs n_layer, n_head and n_embd all > 0");
            }
            int[] s = sizes(preset, nLayer, nHead, nEmbd);
            if (s[2] % s[1] != 0) {
                throw new ConfigException("n_embd", s[2] + " is not divisible by n_head = " + s[1]);
            }
            if (nPositions < 1) {
                throw new ConfigException("n_positions", "must be >= 1; got " + nPositions);
            }
            if (family == ModelFamily.LSA && encoding != EncodingKind.CONCAT) {
                throw new ConfigException("encoding", "the lsa family reads concatenated (x; y) columns: use concat");
            }
            if (family == ModelFamily.GPT2 && encoding == EncodingKind.CONCAT) {
                throw new ConfigException("encoding", "gpt2 takes interleaved, token_pair or token_pair_xy prompts");
            }
        }

        private static int[] sizes(ModelPreset preset, int l, int h, int e) {
            int[] p = switch (preset) {
                case STANDARD -> new int[] {12, 8, 256};
                case SMALL -> new int[] {6, 4, 128};
                case TINY -> new int[] {3, 2, 64};
                case CUSTOM -> new int[] {1, 1, 1};
            };
            return new int[] {l > 0 ? l : p[0], h > 0 ? h : p[1], e > 0 ? e : p[2]};
        }

        public int layers() {
            return sizes(preset, nLayer, nHead, nEmbd)[0];
        }

        public int heads() {
            return sizes(preset, nLayer, nHead, nEmbd)[1];
        }

        public int width() {
            return sizes(preset, nLayer, nHead, nEmbd)[2];
        }
    }

    /** The task family and its input distribution (papers.md §1.1); pools when num_tasks / num_training_examples > 0. */
    public record TaskConfig(TaskKind name, int nDims, double noiseStd, boolean renormalizeYs, int sparsity,
            int hiddenLayerSize, int depth, XDistribution xDistribution, double xScale, double yScale,
            double covScale, long numTasks, long numTrainingExamples) {
        public TaskConfig {
            if (nDims < 1) {
                throw new ConfigException("n_dims", "must be >= 1; got " + nDims);
            }
            if (noiseStd < 0) {
                throw new ConfigException("noise_std", "must be >= 0; got " + noiseStd);
            }
            if (sparsity < 1 || sparsity > nDims) {
                throw new ConfigException("sparsity", "must be in 1..n_dims (" + nDims + "); got " + sparsity);
            }
            if (hiddenLayerSize < 1) {
                throw new ConfigException("hidden_layer_size", "must be >= 1; got " + hiddenLayerSize);
            }
            if (depth < 1 || depth > 12) {
                throw new ConfigException("depth", "must be in 1..12; got " + depth);
            }
            if (!(xScale > 0) || !(yScale > 0) || !(covScale > 0)) {
                throw new ConfigException("x_scale", "x_scale, y_scale and cov_scale must be > 0");
            }
            if (numTasks < 0 || numTrainingExamples < 0) {
                throw new ConfigException("num_tasks", "num_tasks and num_training_examples must be >= 0 (0 = unlimited)");
            }
            if (numTasks > 0 && numTrainingExamples > 0) {
                throw new ConfigException("num_tasks", "set at most one of num_tasks and num_training_examples");
            }
        }

        /** A copy with the keys in {@code changes} (as in YAML: {@code x_scale}, {@code name}, ...) replaced. */
        public TaskConfig with(Map<String, Object> changes) {
            return RecordBinder.with(this, changes);
        }
    }

    /**
     * Optimisation. Schedules: constant; warmup_cosine (linear warm-up then cosine down); triangle (up then down).
     * The warm-up starts from warmup_start_fraction * learning_rate and the cosine ends at min_lr_fraction *
     * learning_rate (both 0 by default: from 0, down to 0; He et al. use 0.01 and 0.1).
     */
    public record TrainingConfig(int steps, int batchSize, OptimizerKind optimizer, double learningRate,
            double weightDecay, double beta1, double beta2, double eps, ScheduleKind schedule, int warmupSteps,
            double warmupStartFraction, double minLrFraction,
            double gradClip, int saveEvery, int keepCheckpoints, int logEvery, int threads, int blasThreads,
            int worldSize, String blas, Precision precision) {
        public TrainingConfig {
            if (steps < 0) {
                throw new ConfigException("steps", "must be >= 0; got " + steps);
            }
            if (batchSize < 1) {
                throw new ConfigException("batch_size", "must be >= 1; got " + batchSize);
            }
            if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
                throw new ConfigException("learning_rate", "must be a positive number; got " + learningRate);
            }
            if (weightDecay < 0) {
                throw new ConfigException("weight_decay", "must be >= 0; got " + weightDecay);
            }
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new ConfigException("beta1", "beta1 and beta2 must be in [0, 1)");
            }
            if (!(eps > 0)) {
                throw new ConfigException("eps", "must be > 0; got " + eps);
            }
            if (warmupSteps < 0) {
                throw new ConfigException("warmup_steps", "must be >= 0; got " + warmupSteps);
            }
            if (!(warmupStartFraction >= 0 && warmupStartFraction <= 1)) {
                throw new ConfigException("warmup_start_fraction", "must be in [0, 1]; got " + warmupStartFraction);
            }
            if (!(minLrFraction >= 0 && minLrFraction <= 1)) {
                throw new ConfigException("min_lr_fraction", "must be in [0, 1]; got " + minLrFraction);
            }
            if (gradClip < 0) {
                throw new ConfigException("grad_clip", "must be >= 0 (0 = off); got " + gradClip);
            }
            if (saveEvery < 0) {
                throw new ConfigException("save_every", "must be >= 0 (0 = no checkpoints); got " + saveEvery);
            }
            if (keepCheckpoints < 1) {
                throw new ConfigException("keep_checkpoints", "must be >= 1; got " + keepCheckpoints);
            }
            if (logEvery < 1) {
                throw new ConfigException("log_every", "must be >= 1; got " + logEvery);
            }
            if (threads < 0 || blasThreads < 0) {
                throw new ConfigException(threads < 0 ? "threads" : "blas_threads",
                        "must be >= 0 (0 = the default: the cores, or OMP_NUM_THREADS / the BLAS's own setting); got "
                                + Math.min(threads, blasThreads));
            }
            if (worldSize < 1) {
                throw new ConfigException("world_size", "must be >= 1 (the number of data-parallel ranks); got "
                        + worldSize);
            }
            if (batchSize % worldSize != 0) {
                throw new ConfigException("world_size", "must divide batch_size: each of the " + worldSize + " ranks "
                        + "trains on an equal slice of the " + batchSize + " rows of every step");
            }
            if (!List.of("auto", "mkl", "openblas").contains(blas)) {
                throw new ConfigException("blas", "must be auto, mkl or openblas; got '" + blas + "'");
            }
            Objects.requireNonNull(precision, "precision");
        }
    }

    /** A quantity that grows by inc every interval steps from start, capped at end (Garg's curriculum). */
    public record Range(int start, int end, int inc, int interval) {
        public Range {
            if (start < 1 || end < start || inc < 0 || interval < 1) {
                throw new ConfigException("", "needs 1 <= start <= end, inc >= 0, interval >= 1; got start " + start
                        + ", end " + end + ", inc " + inc + ", interval " + interval);
            }
        }

        /** The value at a training step: a pure function of the step. */
        public int at(long step) {
            long grown = (long) start + (step / interval) * (long) inc;
            return (int) Math.min(end, grown);
        }
    }

    /** Curriculum on dimensions and points; disabled means the end values from step 0. */
    public record CurriculumConfig(boolean enabled, Range dims, Range points) {
        public int dimsAt(long step) {
            return enabled ? dims.at(step) : dims.end();
        }

        public int pointsAt(long step) {
            return enabled ? points.at(step) : points.end();
        }
    }

    /**
     * Evaluation: num_prompts prompts in batches; n_points = 0 uses the curriculum's final length; baselines empty =
     * the task family's relevant set (with k-NN at each knn_k), else exactly the listed ones (e.g. ridge:0.1);
     * n_checkpoints log-spaced checkpoints (between the end of warm-up and the last step) kept for evaluating the run
     * during training afterwards, whatever save_every and keep_checkpoints say (0: none); precision: the
     * transformer's forward passes (the baselines always run in float32/float64).
     */
    public record EvalConfig(int numPrompts, int batchSize, int nPoints, List<Integer> knnK, List<String> baselines,
            int nCheckpoints, Precision precision) {
        public EvalConfig {
            knnK = List.copyOf(knnK);
            baselines = List.copyOf(baselines);
            if (numPrompts < 1 || batchSize < 1 || nPoints < 0) {
                throw new ConfigException("num_prompts", "num_prompts and batch_size must be >= 1, n_points >= 0");
            }
            Objects.requireNonNull(precision, "precision");
            if (nCheckpoints < 0) {
                throw new ConfigException("n_checkpoints", "must be >= 0 (0: no log-spaced checkpoints); got "
                        + nCheckpoints);
            }
            for (int k : knnK) {
                if (k < 1) {
                    throw new ConfigException("knn_k", "every k must be >= 1; got " + k);
                }
            }
        }
    }
}
