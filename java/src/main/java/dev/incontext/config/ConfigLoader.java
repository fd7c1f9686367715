package dev.incontext.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.representer.Representer;

/**
 * Resolves a {@link RunConfig}: the built-in defaults, then a YAML file and the files it inherits
 * ({@code inherit: other.yaml} or a list; relative to the file; later entries and the file itself win), then
 * {@code key.path=value} overrides (values parsed as YAML scalars). Names without a path that match a shipped
 * config ({@code linear_regression}, {@code models/tiny}, {@code demo}, ...) load that config from the jar.
 */
public final class ConfigLoader {
    static final String SHIPPED = "/dev/incontext/conf/";

    private ConfigLoader() {}

    public static RunConfig load(String config, List<String> overrides) {
        Map<String, Object> merged = new LinkedHashMap<>();
        deepMerge(merged, readShipped("defaults"), "");
        if (config != null) {
            deepMerge(merged, resolve(config, null, new ArrayDeque<>()), "");
        }
        for (String o : overrides) {
            applyOverride(merged, o);
        }
        return RecordBinder.bind(RunConfig.class, merged, "");
    }

    /**
     * Resolves a {@link ModularConfig} the same way: the shipped {@code he_modular} (which lists every key), then
     * {@code config} (a file or shipped name such as {@code he_modular_paper}; null for the defaults alone), then
     * overrides.
     */
    public static ModularConfig loadModular(String config, List<String> overrides) {
        Map<String, Object> merged = new LinkedHashMap<>();
        deepMerge(merged, readShipped(MODULAR_DEFAULTS), "");
        if (config != null) {
            deepMerge(merged, resolve(config, null, new ArrayDeque<>()), "");
        }
        for (String o : overrides) {
            applyOverride(merged, o);
        }
        return RecordBinder.bind(ModularConfig.class, merged, "");
    }

    /** A saved {@link ModularConfig} (a run's or checkpoint's {@code config.yaml}) on top of the modular defaults. */
    public static ModularConfig modularFromYaml(String yaml) {
        Map<String, Object> merged = new LinkedHashMap<>();
        deepMerge(merged, readShipped(MODULAR_DEFAULTS), "");
        deepMerge(merged, parse(yaml, "saved config"), "");
        return RecordBinder.bind(ModularConfig.class, merged, "");
    }

    /** The shipped config holding every key of a {@link ModularConfig}. */
    public static final String MODULAR_DEFAULTS = "he_modular";

    /**
     * {@code base} (a {@link RunConfig} or {@link ModularConfig}) with {@code key.path=value} overrides applied,
     * validated like any loaded config.
     */
    public static <C extends Record> C withOverrides(C base, List<String> overrides) {
        Map<String, Object> merged = RecordBinder.toMap(base);
        for (String o : overrides) {
            applyOverride(merged, o);
        }
        @SuppressWarnings("unchecked")
        Class<C> type = (Class<C>) base.getClass();
        return RecordBinder.bind(type, merged, "");
    }

    /** The names of the configs shipped in the jar (for --help and errors). */
    public static List<String> shippedNames() {
        return List.of("demo", "toy", "base", "linear_regression", "sparse_linear_regression", "noisy_linear_regression",
                "linear_classification", "quadratic_regression", "relu_2nn_regression", "decision_tree",
                "lsa_linear_regression", "models/standard", "models/small", "models/tiny");
    }

    /** A config record as YAML (snake_case keys), as saved next to checkpoints and results. */
    public static String toYaml(Record config) {
        DumperOptions o = new DumperOptions();
        o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        o.setIndent(2);
        return new Yaml(new SafeConstructor(new LoaderOptions()), new Representer(o), o).dump(RecordBinder.toMap(config));
    }

    public static RunConfig fromYaml(String yaml) {
        Map<String, Object> merged = new LinkedHashMap<>();
        deepMerge(merged, readShipped("defaults"), "");
        deepMerge(merged, parse(yaml, "saved config"), "");
        return RecordBinder.bind(RunConfig.class, merged, "");
    }

    /**
     * A config and its ancestors, merged. {@code ref} is a file (relative to the inheriting file, if any) or, when
     * no such file exists, the name of a shipped config (shipped configs inherit shipped names such as
     * {@code base} or {@code models/tiny}).
     */
    private static Map<String, Object> resolve(String ref, Path base, Deque<String> chain) {
        Path file = base == null ? Path.of(ref) : base.resolveSibling(ref);
        String id;
        Map<String, Object> own;
        if (Files.isRegularFile(file)) {
            id = file.toAbsolutePath().normalize().toString();
            try {
                own = parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
            } catch (IOException e) {
                throw new ConfigException("", "cannot read config file " + file + ": " + e.getMessage());
            }
        } else {
            String name = ref.endsWith(".yaml") ? ref.substring(0, ref.length() - 5) : ref;
            own = readShippedOrNull(name);
            if (own == null) {
                throw new ConfigException("", "no config file '" + ref + "'" + (base == null ? "" : " (inherited by "
                        + base + ")") + " and no shipped config of that name; shipped configs: "
                        + String.join(", ", shippedNames()));
            }
            id = "shipped:" + name;
            file = null;
        }
        if (chain.contains(id)) {
            throw new ConfigException("inherit", "cycle: " + String.join(" -> ", chain) + " -> " + id);
        }
        chain.push(id);
        Object inherit = own.remove("inherit");
        List<String> parents = new ArrayList<>();
        if (inherit instanceof String s) {
            parents.add(s);
        } else if (inherit instanceof List<?> l) {
            l.forEach(x -> parents.add(String.valueOf(x)));
        } else if (inherit != null) {
            throw new ConfigException("inherit", "expected a file name or a list of them");
        }
        Map<String, Object> result = new LinkedHashMap<>();
        for (String p : parents) {
            deepMerge(result, resolve(p, file, chain), "");
        }
        deepMerge(result, own, "");
        chain.pop();
        return result;
    }

    @SuppressWarnings("unchecked")
    private static void deepMerge(Map<String, Object> into, Map<String, Object> from, String path) {
        for (Map.Entry<String, Object> e : from.entrySet()) {
            Object old = into.get(e.getKey());
            if (old instanceof Map && e.getValue() instanceof Map) {
                Map<String, Object> copy = new LinkedHashMap<>((Map<String, Object>) old);
                deepMerge(copy, (Map<String, Object>) e.getValue(), path + e.getKey() + ".");
                into.put(e.getKey(), copy);
            } else {
                into.put(e.getKey(), e.getValue());
            }
        }
    }

    @SuppressWarnings("unchecked")
    static void applyOverride(Map<String, Object> merged, String override) {
        String o = override.startsWith("--") ? override.substring(2) : override;
        int eq = o.indexOf('=');
        if (eq <= 0) {
            throw new ConfigException("", "override '" + override + "' must look like key.path=value");
        }
        String[] path = o.substring(0, eq).split("\\.");
        Object value = new Yaml(new SafeConstructor(new LoaderOptions())).load(o.substring(eq + 1));
        Map<String, Object> node = merged;
        StringBuilder at = new StringBuilder();
        for (int i = 0; i < path.length - 1; i++) {
            at.append(i == 0 ? "" : ".").append(path[i]);
            Object next = node.get(path[i]);
            if (!(next instanceof Map)) {
                throw new ConfigException(at.toString(), "unknown section in override '" + override + "'; valid keys: "
                        + String.join(", ", node.keySet()));
            }
            Map<String, Object> copy = new LinkedHashMap<>((Map<String, Object>) next);
            node.put(path[i], copy);
            node = copy;
        }
        node.put(path[path.length - 1], value);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parse(String yaml, String source) {
        try {
            Object o = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
            if (o == null) {
                return new LinkedHashMap<>();
            }
            if (!(o instanceof Map)) {
                throw new ConfigException("", source + " must hold a YAML mapping");
            }
            return new LinkedHashMap<>((Map<String, Object>) o);
        } catch (YAMLException e) {
            throw new ConfigException("", "cannot parse " + source + ": " + e.getMessage());
        }
    }

    private static Map<String, Object> readShipped(String name) {
        Map<String, Object> m = readShippedOrNull(name);
        if (m == null) {
            throw new IllegalStateException("shipped config " + name + " is missing from the jar");
        }
        return m;
    }

    private static Map<String, Object> readShippedOrNull(String name) {
        try (InputStream in = ConfigLoader.class.getResourceAsStream(SHIPPED + name + ".yaml")) {
            if (in == null) {
                return null;
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "shipped config " + name);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
