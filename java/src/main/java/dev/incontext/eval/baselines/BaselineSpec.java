package dev.incontext.eval.baselines;

import dev.incontext.model.Predictor;
import java.util.Objects;

/**
 * A baseline as written in config and on the command line: its kind and argument, e.g. {@code ridge:0.1},
 * {@code knn:3:inverse_distance}, {@code least_squares}. Parsing checks the name and the argument, so a bad spec in
 * a config fails when the config is loaded.
 */
public record BaselineSpec(BaselineKind kind, String argument) {
    public BaselineSpec {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(argument, "argument");
    }

    public static BaselineSpec parse(String text) {
        Objects.requireNonNull(text, "baseline");
        String t = text.strip();
        int colon = t.indexOf(':');
        BaselineKind kind = BaselineKind.byId(colon < 0 ? t : t.substring(0, colon));
        String arg = colon < 0 ? "" : t.substring(colon + 1);
        kind.create(arg, null);
        return new BaselineSpec(kind, arg);
    }

    /** The predictor this spec names, for the task of {@code ctx}. */
    public Predictor create(BaselineContext ctx) {
        return kind.create(argument, ctx);
    }

    @Override
    public String toString() {
        return argument.isEmpty() ? kind.id() : kind.id() + ":" + argument;
    }
}
