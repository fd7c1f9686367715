package dev.incontext.experiments;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/** Every experiment {@code incontext experiment NAME} knows. Adding one is one constant here and its class. */
public enum Experiments {
    DEMO(Demo::new),
    GARG_REGRESSION(GargRegression::new),
    HE_MODULAR(HeModularExperiment::new),
    ZHANG_LSA(ZhangLsa::new),
    VON_OSWALD_GD(VonOswaldGd::new),
    RAVENTOS_DIVERSITY(RaventosDiversity::new),
    AKYUREK_ALGORITHMS(AkyurekAlgorithms::new);

    private final Supplier<Experiment> factory;

    Experiments(Supplier<Experiment> factory) {
        this.factory = factory;
    }

    public Experiment create() {
        return factory.get();
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static Experiments byId(String id) {
        for (Experiments e : values()) {
            if (e.id().equals(id.toLowerCase(Locale.ROOT))) {
                return e;
            }
        }
        throw new IllegalArgumentException("unknown experiment '" + id + "'; known: "
                + Arrays.stream(values()).map(Experiments::id).collect(Collectors.joining(", ")));
    }
}
