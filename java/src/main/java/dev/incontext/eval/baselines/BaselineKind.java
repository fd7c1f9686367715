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
    KNN("knn", "knn:K or knn:K:WEIGHTS with K >= 1 and WEIGHTS uniform (default) | inverse_distance") {
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
            boolean weighted = false;
            if (parts.length == 2) {
                weighted = switch (parts[1]) {
                    case "uniform" -> false;
                    case "inverse_distance" -> true;
                    default -> throw bad(arg, "WEIGHTS must be uniform or inverse_distance");
                };
            }
            return new NearestNeighbours(k, weighted);
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
