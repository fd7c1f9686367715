package dev.incontext.sweep;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.ConfigException;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * A grid of training runs: a base run config, fixed overrides, axes of values (crossed or zipped) and seeds. Read from
 * a sweep file, from command-line axes written the way Hydra users write a multirun ({@code key=1,2,4},
 * {@code key=range(2,9,2)}, {@code key=logrange(1e-4,1e-2,3)}), or both. Everything that can be checked without
 * the base config is checked here, naming the offending key; {@link SweepPlan} checks the axis keys against the config.
 *
 * <pre>
 * base: toy                       # run config file (relative to this file) or shipped name
 * overrides: {training.steps: 2000}
 * axes:
 *   training.learning_rate: [1.0e-4, 3.0e-4, 1.0e-3]
 *   model.n_layer: range(1,4)     # 1, 2, 3
 * mode: cross                     # cross (every combination) | zip (i-th value of every axis together)
 * seeds: 3                        # every point above with seed = 0, 1, 2
 * out_dir: runs/sweep-lr
 * evaluate: true                  # evaluate each cell against the baselines (eval.* of the config)
 * heatmap: final_loss             # metric of the heatmap when there are two axes
 * </pre>
 */
public record SweepSpec(String base, List<String> overrides, List<Axis> axes, Mode mode, int seeds, String outDir,
        boolean evaluate, String heatmapMetric) {

    /** How the axes combine: every combination, or the i-th value of every axis together. */
    public enum Mode { CROSS, ZIP }

    /** One axis: a config key and its values, each written as a YAML scalar (the form an override takes). */
    public record Axis(String key, List<String> values) {
        public Axis {
            if (key == null || !KEY.matcher(key).matches()) {
                throw new ConfigException("axes", "'" + key + "' is not a config key (key.path)");
            }
            if (values == null || values.isEmpty()) {
                throw new ConfigException("axes." + key, "has no values; give a list such as [1, 2, 4]");
            }
            if (new LinkedHashSet<>(values).size() != values.size()) {
                throw new ConfigException("axes." + key, "repeats a value: " + values);
            }
            values = List.copyOf(values);
        }
    }

    /** The keys a sweep file may have. */
    public static final List<String> FILE_KEYS =
            List.of("base", "overrides", "axes", "mode", "seeds", "out_dir", "evaluate", "heatmap");

    /** Metrics every cell reports; {@code eval_<predictor>} columns come in addition when cells are evaluated. */
    public static final List<String> METRICS = List.of("final_loss", "final_excess_loss", "train_seconds");

    private static final Pattern KEY = Pattern.compile("[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)*");
    private static final Pattern CALL = Pattern.compile("(range|logrange)\\((.*)\\)");

    public SweepSpec {
        if (base == null || base.isBlank()) {
            throw new ConfigException("base", "missing: name the run config to sweep (a YAML file or a shipped config)");
        }
        overrides = List.copyOf(overrides);
        axes = List.copyOf(axes);
        Set<String> seen = new LinkedHashSet<>();
        for (Axis a : axes) {
            if (!seen.add(a.key())) {
                throw new ConfigException("axes." + a.key(), "appears twice");
            }
            if (a.key().equals("out_dir")) {
                throw new ConfigException("axes.out_dir", "cannot be an axis: each cell's out_dir is set by the sweep");
            }
        }
        if (seeds < 0) {
            throw new ConfigException("seeds", "must be >= 0 (0 = no seed axis); got " + seeds);
        }
        if (seeds > 0 && seen.contains("seed")) {
            throw new ConfigException("seeds", "give either seeds: N or an axis on seed, not both");
        }
        if (seeds > 0 && overrides.stream().anyMatch(o -> o.strip().startsWith("seed="))) {
            throw new ConfigException("seeds", "give either seeds: N (cells with seed 0.." + (seeds - 1) + ") or the "
                    + "override seed=..., not both: the seed axis would replace the override on every cell");
        }
        if (mode == Mode.ZIP) {
            for (Axis a : axes) {
                if (a.values().size() != axes.get(0).values().size()) {
                    throw new ConfigException("axes." + a.key(), "has " + a.values().size() + " values but axes."
                            + axes.get(0).key() + " has " + axes.get(0).values().size() + "; zipped axes need equal lengths");
                }
            }
        }
        if (axes.isEmpty() && seeds == 0) {
            throw new ConfigException("axes", "nothing to sweep: give at least one axis or seeds: N");
        }
        if (outDir == null || outDir.isBlank()) {
            throw new ConfigException("out_dir", "must not be empty");
        }
        if (!METRICS.contains(heatmapMetric) && !(evaluate && heatmapMetric.startsWith("eval_"))) {
            throw new ConfigException("heatmap", "unknown metric '" + heatmapMetric + "'; choose one of "
                    + String.join(", ", METRICS) + (evaluate ? " or eval_<predictor> (e.g. eval_transformer)" : ""));
        }
    }

    /** The sweep's axes without a seed axis, i.e. the axes a heatmap can be drawn over. */
    public List<Axis> gridAxes() {
        return axes.stream().filter(a -> !a.key().equals("seed")).toList();
    }

    /**
     * A spec from {@code --config} and the command line. {@code config} is a sweep file (a YAML mapping with
     * {@code axes} or {@code base}) or a run config (a file or a shipped name) to use as the base. Each argument
     * {@code key=value} whose value holds a comma outside brackets, or is {@code range(...)} / {@code logrange(...)},
     * is an axis (added after the file's); any other is a fixed override.
     */
    public static SweepSpec load(String config, List<String> args, Mode modeOverride, String outDirOverride) {
        Map<String, Object> file = new LinkedHashMap<>();
        Path dir = null;
        Path p = config == null ? null : Path.of(config);
        if (p != null && Files.isRegularFile(p)) {
            Map<String, Object> m = readYaml(p);
            if (m.containsKey("axes") || m.containsKey("base")) {
                file = m;
                dir = p.toAbsolutePath().getParent();
            }
        }
        if (file.isEmpty()) {
            file.put("base", config == null ? "" : config);
        }
        return fromMap(file, dir, args, modeOverride, outDirOverride);
    }

    /** A spec from a parsed sweep file (relative {@code base} resolved against {@code dir}) plus command-line args. */
    public static SweepSpec fromMap(Map<String, Object> file, Path dir, List<String> args, Mode modeOverride,
            String outDirOverride) {
        for (String k : file.keySet()) {
            if (!FILE_KEYS.contains(k)) {
                throw new ConfigException(k, "unknown key in the sweep file; valid keys are " + String.join(", ", FILE_KEYS));
            }
        }
        String base = file.get("base") == null ? null : String.valueOf(file.get("base"));
        if (base != null && dir != null && Files.isRegularFile(dir.resolve(base))) {
            base = dir.resolve(base).toString();
        }
        List<String> overrides = new ArrayList<>();
        Object o = file.get("overrides");
        if (o instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                overrides.add(e.getKey() + "=" + scalar(e.getValue(), "overrides." + e.getKey()));
            }
        } else if (o != null) {
            throw new ConfigException("overrides", "expected a mapping of key.path: value; got " + describe(o));
        }
        List<Axis> axes = new ArrayList<>();
        Object a = file.get("axes");
        if (a instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                axes.add(new Axis(String.valueOf(e.getKey()), values(e.getValue(), "axes." + e.getKey())));
            }
        } else if (a != null) {
            throw new ConfigException("axes", "expected a mapping of key.path: [values]; got " + describe(a));
        }
        for (String arg : args) {
            String s = arg.startsWith("--") ? arg.substring(2) : arg;
            int eq = s.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException("", "argument '" + arg + "' must look like key.path=value or key.path=v1,v2,...");
            }
            String key = s.substring(0, eq);
            String value = s.substring(eq + 1);
            if (CALL.matcher(value.strip()).matches() || hasTopLevelComma(value)) {
                axes.add(new Axis(key, values(value, key)));
            } else {
                overrides.add(key + "=" + value);
            }
        }
        Mode mode = modeOverride;
        if (mode == null) {
            Object m = file.getOrDefault("mode", "cross");
            try {
                mode = Mode.valueOf(String.valueOf(m).toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new ConfigException("mode", "unknown mode '" + m + "'; choose cross or zip");
            }
        }
        int seeds = 0;
        Object sd = file.get("seeds");
        if (sd instanceof Integer i) {
            seeds = i;
        } else if (sd != null) {
            throw new ConfigException("seeds", "expected a number of seeds (seeds 0..N-1); got " + describe(sd));
        }
        String outDir = outDirOverride != null ? outDirOverride
                : file.get("out_dir") != null ? String.valueOf(file.get("out_dir")) : "runs/sweep";
        Object ev = file.getOrDefault("evaluate", Boolean.TRUE);
        if (!(ev instanceof Boolean)) {
            throw new ConfigException("evaluate", "expected true or false; got " + describe(ev));
        }
        Object hm = file.getOrDefault("heatmap", "final_loss");
        return new SweepSpec(base, overrides, axes, mode, seeds, outDir, (Boolean) ev, String.valueOf(hm));
    }

    private static Map<String, Object> readYaml(Path p) {
        try {
            Object o = ConfigLoader.strictYaml().load(Files.readString(p, StandardCharsets.UTF_8));
            if (o == null) {
                return new LinkedHashMap<>();
            }
            if (!(o instanceof Map<?, ?> m)) {
                throw new ConfigException("", p + " must hold a YAML mapping");
            }
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put(String.valueOf(k), v));
            return out;
        } catch (IOException e) {
            throw new ConfigException("", "cannot read sweep file " + p + ": " + e.getMessage());
        } catch (YAMLException e) {
            throw new ConfigException("", "cannot parse " + p + ": " + e.getMessage());
        }
    }

    /** An axis' values: a YAML list, or {@code range(...)} / {@code logrange(...)} / {@code v1,v2,...} text. */
    static List<String> values(Object v, String key) {
        if (v instanceof List<?> l) {
            List<String> out = new ArrayList<>();
            for (int i = 0; i < l.size(); i++) {
                out.add(scalar(l.get(i), key + "[" + i + "]"));
            }
            return out;
        }
        if (v instanceof String s) {
            Matcher m = CALL.matcher(s.strip());
            if (m.matches()) {
                return expand(m.group(1), m.group(2), key);
            }
            if (hasTopLevelComma(s)) {
                List<String> out = new ArrayList<>();
                for (String part : splitTopLevel(s)) {
                    if (part.isBlank()) {
                        throw new ConfigException(key, "has an empty value in '" + s + "'");
                    }
                    out.add(part.strip());
                }
                return out;
            }
        }
        throw new ConfigException(key, "expected a list of values, range(start,stop[,step]) or logrange(a,b,n); got "
                + describe(v));
    }

    private static String scalar(Object v, String key) {
        if (v == null || v instanceof Map || v instanceof List) {
            if (v instanceof List<?>) {
                return new Yaml().dump(v).strip();   // a list-valued key (e.g. eval.knn_k): one value of the axis
            }
            throw new ConfigException(key, "expected a value; got " + describe(v));
        }
        if (v instanceof Double d) {
            return Double.isFinite(d) ? BigDecimal.valueOf(d).stripTrailingZeros().toPlainString() : String.valueOf(d);
        }
        return String.valueOf(v);
    }

    /** range(start, stop[, step]) as in Python and Hydra (stop excluded); logrange(a, b, n): n values from a to b. */
    static List<String> expand(String fn, String argText, String key) {
        String[] parts = argText.split(",");
        List<BigDecimal> args = new ArrayList<>();
        for (String p : parts) {
            try {
                args.add(new BigDecimal(p.strip()));
            } catch (NumberFormatException e) {
                throw new ConfigException(key, fn + "(" + argText + "): '" + p.strip() + "' is not a number");
            }
        }
        List<String> out = new ArrayList<>();
        if (fn.equals("range")) {
            if (args.size() < 2 || args.size() > 3) {
                throw new ConfigException(key, "range takes (start, stop) or (start, stop, step); got range(" + argText + ")");
            }
            BigDecimal step = args.size() == 3 ? args.get(2) : BigDecimal.ONE;
            if (step.signum() == 0) {
                throw new ConfigException(key, "range step must not be 0");
            }
            for (BigDecimal x = args.get(0); step.signum() > 0 ? x.compareTo(args.get(1)) < 0 : x.compareTo(args.get(1)) > 0;
                    x = x.add(step)) {
                out.add(x.stripTrailingZeros().toPlainString());
                if (out.size() > 100_000) {
                    throw new ConfigException(key, "range(" + argText + ") has more than 100000 values");
                }
            }
        } else {
            if (args.size() != 3 || args.get(2).scale() > 0 || args.get(2).intValue() < 2) {
                throw new ConfigException(key, "logrange takes (a, b, n) with n >= 2 values from a to b; got logrange("
                        + argText + ")");
            }
            double a = args.get(0).doubleValue();
            double b = args.get(1).doubleValue();
            int n = args.get(2).intValue();
            if (!(a > 0) || !(b > 0)) {
                throw new ConfigException(key, "logrange needs positive ends; got logrange(" + argText + ")");
            }
            for (int i = 0; i < n; i++) {
                double x = i == n - 1 ? b : a * Math.pow(b / a, (double) i / (n - 1));
                out.add(new BigDecimal(x).round(new MathContext(6)).stripTrailingZeros().toPlainString());
            }
        }
        if (out.isEmpty()) {
            throw new ConfigException(key, fn + "(" + argText + ") is empty");
        }
        return out;
    }

    private static boolean hasTopLevelComma(String s) {
        return splitTopLevel(s).size() > 1;
    }

    private static List<String> splitTopLevel(String s) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '[' || c == '(' || c == '{') {
                depth++;
            } else if (c == ']' || c == ')' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                out.add(s.substring(start, i));
                start = i + 1;
            }
        }
        out.add(s.substring(start));
        return out;
    }

    private static String describe(Object v) {
        if (v == null) {
            return "nothing";
        }
        if (v instanceof Map) {
            return "a mapping";
        }
        return "'" + v + "'";
    }
}
