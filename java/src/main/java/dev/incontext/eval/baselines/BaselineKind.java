package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Every baseline the toolkit offers, by the name config files and the command line use ({@code eval.baselines},
 * e.g. {@code [least_squares, ridge:0.1, knn:3:inverse_distance]}). Each kind parses its own argument (the text after
 * the first colon, empty when absent) and fails naming the baseline and what it expected.
 */
public enum BaselineKind {
    ZERO("zero", "no argument") {
        @Override
        Predictor create(String arg, BaselineContext ctx) {
            noArgument(arg);
            return new Zero();
        }
    },
    LEAST_SQUARES("least_squares", "no argument; minimum-norm least squares on every prefix") {
        @Override
        Predictor create(String arg, BaselineContext ctx) {
            noArgument(arg);
            return new LeastSquares(0.0);
        }
    },
    RIDGE("ridge", "ridge:LAMBDA with LAMBDA > 0, objective ||y - Xw||^2 + LAMBDA ||w||^2") {
        @Override
        Predictor create(String arg, BaselineContext ctx) {
            double lambda = number(arg);
            if (!(lambda > 0) || Double.isInfinite(lambda)) {
                throw bad(arg, "LAMBDA must be a finite number > 0");
            }
            return new LeastSquares(lambda);
        }
    },
    BAYES_RIDGE("bayes_ridge", "no argument; ridge with lambda = noise variance / prior variance of the weights (the "
            + "posterior mean for Gaussian weights and noise)") {
        @Override
        Predictor create(String arg, BaselineContext ctx) {
            noArgument(arg);
            return ctx == null ? null : LeastSquares.bayes(ctx.task());
        }
    },
    AVERAGING("averaging", "no argument; w = (1/k) sum y_i x_i") {
        @Override
        Predictor create(String arg, BaselineContext ctx) {
            noArgument(arg);
            return new Averaging();
        }
    },
    KNN("knn", "knn:K or knn:K:WEIGHTS with K >= 1 and WEIGHTS uniform (default) | inverse_distance | "
            + "inverse_squared_distance (Akyurek's |x_i - x_j|^-2)") {
        @Override
        Predictor create(String arg, BaselineContext ctx) {
            String[] parts = arg.isEmpty() ? new String[] {"3"} : arg.split(":", -1);
            if (parts.length > 2) {
                throw bad(arg, "at most K and WEIGHTS");
            }
            int k;
            try {
                k = Integer.parseInt(parts[0]);
            } catch (NumberFormatException e) {
                throw bad(arg, "K must be an integer");
            }
            if (k < 1) {
                throw bad(arg, "K must be >= 1");
            }
            if (parts.length == 2) {
                return switch (parts[1]) {
                    case "uniform" -> new NearestNeighbours(k, false);
                    case "inverse_distance" -> new NearestNeighbours(k, true);
                    case "inverse_squared_distance" -> new InverseSquareNeighbours(k);
                    default -> throw bad(arg, "WEIGHTS must be uniform, inverse_distance or inverse_squared_distance");
                };
            }
            return new NearestNeighbours(k, false);
        }
    },
    LASSO("lasso", "lasso:ALPHA with ALPHA > 0: objective (1/(2k)) ||y - Xw||^2 + ALPHA ||w||_1 per prefix, no "
            + "intercept, solved to a relative KKT tolerance of 1e-6 (an unconverged fit is an error); the papers use "
            + "1, 0.1, 0.01, 0.001 and 0.0001") {
        @Override
        Predictor create(String arg, BaselineContext ctx) {
            double alpha = number(arg);
            if (!(alpha > 0) || Double.isInfinite(alpha)) {
                throw bad(arg, "ALPHA must be a finite number > 0");
            }
            return new Lasso(alpha);
        }
    },
    GD("gd", "gd, gd:STEPS or gd:STEPS:ETA: STEPS >= 1 (default 1) steps of full-batch gradient descent from w = 0 "
            + "on (1/(2k)) ||y - Xw||^2, step ETA > 0 (default: the one-step optimum k / (s (k + d + 1)) for Gaussian "
            + "inputs of per-coordinate variance s)") {
        @Override
        Predictor create(String arg, BaselineContext ctx) {
            String[] parts = arg.isEmpty() ? new String[0] : arg.split(":", -1);
            if (parts.length > 2) {
                throw bad(arg, "at most STEPS and ETA");
            }
            int steps = 1;
            if (parts.length >= 1) {
                try {
                    steps = Integer.parseInt(parts[0]);
                } catch (NumberFormatException e) {
                    throw bad(arg, "STEPS must be an integer");
                }
                if (steps < 1) {
                    throw bad(arg, "STEPS must be >= 1");
                }
            }
            double eta = Double.NaN;
            if (parts.length == 2) {
                eta = number(parts[1]);
                if (!(eta > 0) || Double.isInfinite(eta)) {
                    throw bad(arg, "ETA must be a finite number > 0");
                }
            }
            return ctx == null ? null : new GradientDescent(steps, eta, GradientDescent.inputVariance(ctx.task()),
                    GradientDescent.inputKurtosis(ctx.task()));
        }
    },
    GD_RELU_NET("gd_relu_net", "no argument; a 2-layer ReLU net (hidden 100, the task's input size) trained on each "
            + "prefix by Adam (lr 5e-3, 100 steps, minibatches of 100), seeded from the run's seed") {
        @Override
        Predictor create(String arg, BaselineContext ctx) {
            noArgument(arg);
            return ctx == null ? null : ReluNetGD.garg(ctx.seed());
        }
    },
    TREE("tree", "tree or tree:DEPTH with DEPTH >= 1: a greedy (CART) regression tree fitted to each prefix, of "
            + "unlimited depth without DEPTH") {
        @Override
        Predictor create(String arg, BaselineContext ctx) {
            if (arg.isEmpty()) {
                return new GreedyTree(GreedyTree.UNLIMITED);
            }
            int depth;
            try {
                depth = Integer.parseInt(arg);
            } catch (NumberFormatException e) {
                throw bad(arg, "DEPTH must be an integer");
            }
            if (depth < 1) {
                throw bad(arg, "DEPTH must be >= 1");
            }
            return new GreedyTree(depth);
        }
    },
    XGBOOST("xgboost", "no argument; gradient-boosted trees with XGBoost's default parameters (xgb.XGBRegressor()), "
            + "one booster per prefix") {
        @Override
        Predictor create(String arg, BaselineContext ctx) {
            noArgument(arg);
            return ctx == null ? null : new XGBoostBaseline(ctx.seed());
        }
    },
    DMMSE("dmmse", "no argument; the posterior mean over the task's finite pool of weights (linear tasks with "
            + "task.num_tasks > 0; Raventos et al.'s dMMSE)") {
        @Override
        Predictor create(String arg, BaselineContext ctx) {
            noArgument(arg);
            if (ctx == null) {
                return null;
            }
            try {
                return DiscreteMmse.forTask(ctx.task(), ctx.sampler());
            } catch (IllegalArgumentException e) {
                throw bad(arg, e.getMessage());
            }
        }
    };

    private final String id;
    private final String usage;

    BaselineKind(String id, String usage) {
        this.id = id;
        this.usage = usage;
    }

    /** The name used in config files, e.g. {@code least_squares}. */
    public String id() {
        return id;
    }

    /** What the argument means, for error messages and {@code --help}. */
    public String usage() {
        return usage;
    }

    /**
     * Builds the predictor; {@code arg} is the text after the first colon ("" when there is none). With a null
     * {@code ctx} it only checks the argument (throwing as for a real creation) and returns null: config loading
     * does this, so a bad baseline fails before any training.
     */
    abstract Predictor create(String arg, BaselineContext ctx);

    public static BaselineKind byId(String id) {
        for (BaselineKind k : values()) {
            if (k.id.equals(id.toLowerCase(Locale.ROOT))) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown baseline '" + id + "'; valid: "
                + Arrays.stream(values()).map(BaselineKind::id).collect(Collectors.joining(", ")));
    }

    IllegalArgumentException bad(String arg, String expected) {
        return new IllegalArgumentException("baseline " + id + (arg.isEmpty() ? "" : ":" + arg) + ": " + expected
                + " (usage: " + usage + ")");
    }

    void noArgument(String arg) {
        if (!arg.isEmpty()) {
            throw bad(arg, "takes no argument");
        }
    }

    double number(String arg) {
        try {
            return Double.parseDouble(arg);
        } catch (NumberFormatException e) {
            throw bad(arg, "expected a number");
        }
    }
}
