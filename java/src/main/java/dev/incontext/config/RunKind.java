package dev.incontext.config;

import java.util.Arrays;
import java.util.Locale;

/**
 * The kinds of run: each has its config record and the shipped config that lists every one of its keys with its
 * default (the base every file and override is merged onto). A checkpoint records its run's kind, so a checkpoint
 * of one kind given where another is expected is named as such.
 */
public enum RunKind {
    /** Regression and classification prompts of real vectors (Garg et al. and the papers that follow it). */
    REGRESSION(RunConfig.class, "defaults"),
    /** Token sequences: He et al.'s modular arithmetic. */
    TOKENS(ModularConfig.class, "he_modular");

    private final Class<? extends RunSpec> type;
    private final String defaults;

    RunKind(Class<? extends RunSpec> type, String defaults) {
        this.type = type;
        this.defaults = defaults;
    }

    public Class<? extends RunSpec> type() {
        return type;
    }

    /** The shipped config holding every key of this kind with its default. */
    public String defaults() {
        return defaults;
    }

    /** The name written into checkpoints: {@code regression} or {@code tokens}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The kind whose config record is {@code type}. */
    public static RunKind of(Class<? extends RunSpec> type) {
        for (RunKind k : values()) {
            if (k.type == type) {
                return k;
            }
        }
        throw new IllegalArgumentException("no run kind for " + type.getName());
    }

    /** The kind named {@code id} (as in a checkpoint); an unknown one lists the known. */
    public static RunKind parse(String id) {
        for (RunKind k : values()) {
            if (k.id().equals(id)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown run kind '" + id + "'; known: "
                + String.join(", ", Arrays.stream(values()).map(RunKind::id).toList()));
    }
}
