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
 * Resolves a run's config ({@link #load}): its kind's built-in defaults, then a YAML file and the files it inherits
 * ({@code inherit: other.yaml} or a list; relative to the file; later entries and the file itself win), then
 * {@code key.path=value} overrides (values parsed as YAML scalars). Names without a path that match a shipped
 * config ({@code linear_regression}, {@code models/tiny}, {@code demo}, ...) load that config from the jar.
 */
public final class ConfigLoader {
    static final String SHIPPED = "/dev/incontext/conf/";

    private ConfigLoader() {}

    /**
     * Resolves a config of the kind {@code type} names ({@link RunConfig} or {@link ModularConfig}): that kind's
     * shipped defaults (which list every key), then {@code config} (a file or a shipped name; null for the defaults
     * alone) with what it inherits, then {@code key.path=value} overrides. The one way every run's config is read.
     */
    public static <C extends Record & RunSpec> C load(Class<C> type, String config, List<String> overrides) {
        return type.cast(load(RunKind.of(type), config, overrides));
    }

    /** As {@link #load(Class, String, List)}, for a kind known at run time (e.g. from {@link #kindOf}). */
    public static RunSpec load(RunKind kind, String config, List<String> overrides) {
        Map<String, Object> merged = new LinkedHashMap<>();
        deepMerge(merged, readShipped(kind.defaults()), "");
        if (config != null) {
            deepMerge(merged, resolve(config, null, new ArrayDeque<>(), new ArrayList<>()), "");
        }
        for (String o : overrides) {
            applyOverride(merged, o);
        }
        return (RunSpec) RecordBinder.bind(kind.type().asSubclass(Record.class), merged, "");
    }

    /**
     * The kind of run a config file or shipped name describes: a token run when it is, or inherits, the shipped
     * defaults of token runs ({@code he_modular}); a regression run otherwise.
     */
    public static RunKind kindOf(String config) {
        List<String> seen = new ArrayList<>();
        resolve(config, null, new ArrayDeque<>(), seen);
        for (RunKind k : RunKind.values()) {
            if (k != RunKind.REGRESSION && seen.contains("shipped:" + k.defaults())) {
                return k;
            }
        }
        return RunKind.REGRESSION;
    }

    /** A saved config (a run's or checkpoint's {@code config.yaml}) of the kind {@code type}, on its defaults. */
    public static <C extends Record & RunSpec> C fromYaml(Class<C> type, String yaml) {
        return type.cast(fromYaml(RunKind.of(type), yaml));
    }

    /** A saved config of the given kind, on that kind's defaults. */
    public static RunSpec fromYaml(RunKind kind, String yaml) {
        Map<String, Object> merged = new LinkedHashMap<>();
        deepMerge(merged, readShipped(kind.defaults()), "");
        deepMerge(merged, parse(yaml, "saved config"), "");
        return (RunSpec) RecordBinder.bind(kind.type().asSubclass(Record.class), merged, "");
    }

    /**
     * {@code base} (any run config) with {@code key.path=value} overrides applied, validated like any loaded config.
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

    /**
     * The names of the configs shipped in the jar (for --help and errors), found from the resources themselves:
     * {@code linear_regression}, {@code models/tiny}, ... in name order.
     */
    public static List<String> shippedNames() {
        return ShippedConfigs.names();
    }

    /** A config record as YAML (snake_case keys), as saved next to checkpoints and results. */
    public static String toYaml(Record config) {
        DumperOptions o = new DumperOptions();
        o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        o.setIndent(2);
        return new Yaml(new SafeConstructor(new LoaderOptions()), new Representer(o), o).dump(RecordBinder.toMap(config));
    }

    /**
     * A config and its ancestors, merged. {@code ref} is a file (relative to the inheriting file, if any) or, when
     * no such file exists, the name of a shipped config (shipped configs inherit shipped names such as
     * {@code base} or {@code models/tiny}).
     */
    private static Map<String, Object> resolve(String ref, Path base, Deque<String> chain, List<String> seen) {
        Path file = base == null ? Path.of(ref) : base.resolveSibling(ref);
        String id;
        Map<String, Object> own;
        if (Files.isRegularFile(file)) {
            id = file.toAbsolutePath().normalize().toString();
            try {
                String text = Files.readString(file, StandardCharsets.UTF_8);
                if (text.lines().allMatch(l -> l.isBlank() || l.strip().startsWith("#"))) {
                    throw new ConfigException("", "config file " + file + " is empty: it would train on the bare "
                            + "defaults; give it at least one key (or `inherit:` a shipped config)");
                }
                own = parse(text, file.toString());
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
        seen.add(id);
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
            deepMerge(result, resolve(p, file, chain, seen), "");
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
        Object value = new OverrideValue(o.substring(eq + 1));
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

    /**
     * The project's YAML reader: safe types only, and a key given twice in one mapping is an error (naming the line)
     * rather than the last one silently winning.
     */
    public static Yaml strictYaml() {
        LoaderOptions o = new LoaderOptions();
        o.setAllowDuplicateKeys(false);
        return new Yaml(new SafeConstructor(o));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parse(String yaml, String source) {
        try {
            Object o = strictYaml().load(yaml);
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
