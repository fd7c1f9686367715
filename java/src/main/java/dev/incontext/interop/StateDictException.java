package dev.incontext.interop;

import java.util.List;

/**
 * A state dict that does not fit the model it is read into: every unknown, missing or wrongly shaped tensor is named
 * (with the expected and the found shape), all at once.
 */
public final class StateDictException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final List<String> problems;

    public StateDictException(String what, List<String> problems) {
        super(what + ": " + (problems.size() == 1 ? problems.get(0)
                : problems.size() + " problems:\n  " + String.join("\n  ", problems.subList(0, Math.min(40,
                        problems.size()))) + (problems.size() > 40 ? "\n  ... and " + (problems.size() - 40)
                        + " more" : "")));
        this.problems = List.copyOf(problems);
    }

    /** One line per problem, each naming its tensor. */
    public List<String> problems() {
        return problems;
    }
}
