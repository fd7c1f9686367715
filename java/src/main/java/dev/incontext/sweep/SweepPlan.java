package dev.incontext.sweep;

import dev.incontext.config.ConfigException;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RecordBinder;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunKind;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A sweep made concrete: the resolved base config (with the spec's fixed overrides), the list of cells, and the job
 * that trains a cell (the one {@link RunJob}, with {@link RegressionCells} for the runs {@link #of} plans; an
 * experiment whose cells report other results builds its plan with its own {@link CellResults}). Building one with {@link #of} checks every axis key against the config,
 * so a misspelt key fails before any cell runs, naming the axis. A value that is invalid for its key (a negative
 * learning rate) is not an error of the plan: that cell fails on its own, with the config's message, and the others
 * run.
 */
public record SweepPlan(SweepSpec spec, String baseYaml, List<Cell> cells, Path outDir, CellJob job) {
    public SweepPlan {
        cells = List.copyOf(cells);
        Objects.requireNonNull(job, "job");
        Set<String> names = new HashSet<>();
        for (int i = 0; i < cells.size(); i++) {
            if (cells.get(i).index() != i) {
                throw new IllegalArgumentException("cell " + cells.get(i).name() + " has index " + cells.get(i).index()
                        + " at position " + i + " of the plan");
            }
            if (!names.add(cells.get(i).name())) {
                throw new IllegalArgumentException("two cells share the directory name " + cells.get(i).name());
            }
        }
    }

    public static SweepPlan of(SweepSpec spec) {
        RunConfig base;
        try {
            base = ConfigLoader.load(RunConfig.class, spec.base(), spec.overrides());
        } catch (ConfigException e) {
            throw new ConfigException(e.key(), stripKey(e.getMessage(), e.key()) + " (in the sweep's base config "
                    + spec.base() + " with its overrides)");
        }
        Map<String, Object> tree = RecordBinder.toMap(base);
        for (SweepSpec.Axis a : spec.axes()) {
            checkKey(tree, a.key());
        }
        List<SweepSpec.Axis> axes = new ArrayList<>(spec.axes());
        if (spec.seeds() > 0) {
            List<String> seeds = new ArrayList<>();
            for (int s = 0; s < spec.seeds(); s++) {
                seeds.add(Integer.toString(s));
            }
            axes.add(new SweepSpec.Axis("seed", seeds));
        }
        List<Cell> cells = new ArrayList<>();
        List<String> keys = axes.stream().map(SweepSpec.Axis::key).toList();
        List<String> shortKeys = shortKeys(keys);
        Set<String> names = new HashSet<>();
        for (List<String> values : combinations(axes, spec.mode(), spec.seeds() > 0)) {
            StringBuilder name = new StringBuilder();
            for (int i = 0; i < keys.size(); i++) {
                name.append(i == 0 ? "" : "__").append(shortKeys.get(i)).append('=').append(values.get(i));
            }
            String n = name.toString().replaceAll("[^A-Za-z0-9._=+-]", "_");
            if (n.length() > 200) {
                n = String.format("cell-%05d", cells.size());
            }
            if (!names.add(n)) {
                throw new ConfigException("axes", "two cells would share the directory name '" + n
                        + "'; make the axis values differ in letters, digits, '.', '-' or '+'");
            }
            cells.add(new Cell(cells.size(), n, keys, values));
        }
        return new SweepPlan(spec, ConfigLoader.toYaml(base), cells, Path.of(spec.outDir()), new RunJob(new RegressionCells()));
    }

    /**
     * The config a cell of a plan of {@code RunConfig} runs ({@link #of}) trains with: base + axis values + its own
     * out_dir (threads as the base sets them).
     */
    public RunConfig cellConfig(Cell cell) {
        return (RunConfig) RunJob.config(RunKind.REGRESSION, baseYaml, cell, outDir.resolve(cell.name()), 0);
    }

    private static void checkKey(Map<String, Object> tree, String key) {
        String[] path = key.split("\\.");
        Object node = tree;
        StringBuilder at = new StringBuilder();
        for (String p : path) {
            if (!(node instanceof Map<?, ?> m) || !m.containsKey(p)) {
                String valid = node instanceof Map<?, ?> m2 ? String.join(", ", m2.keySet().stream().map(String::valueOf).toList())
                        : "none (" + at + " is a value, not a section)";
                throw new ConfigException("axes." + key, "unknown config key" + (at.length() == 0 ? "" : " under " + at)
                        + " ('" + p + "'); valid keys there: " + valid);
            }
            node = m.get(p);
            at.append(at.length() == 0 ? "" : ".").append(p);
        }
        if (node instanceof Map) {
            throw new ConfigException("axes." + key, "is a section, not a value; sweep one of its keys");
        }
    }

    private static List<String> shortKeys(List<String> keys) {
        List<String> out = new ArrayList<>();
        for (String k : keys) {
            String last = k.substring(k.lastIndexOf('.') + 1);
            long same = keys.stream().filter(x -> x.substring(x.lastIndexOf('.') + 1).equals(last)).count();
            out.add(same > 1 ? k : last);
        }
        return out;
    }

    /** Cross: every combination, the last axis fastest. Zip: the i-th values together. A seed axis is always crossed. */
    private static List<List<String>> combinations(List<SweepSpec.Axis> axes, SweepSpec.Mode mode, boolean seedAxis) {
        List<SweepSpec.Axis> main = seedAxis ? axes.subList(0, axes.size() - 1) : axes;
        List<List<String>> points = new ArrayList<>();
        if (main.isEmpty()) {
            points.add(new ArrayList<>());
        } else if (mode == SweepSpec.Mode.ZIP) {
            for (int i = 0; i < main.get(0).values().size(); i++) {
                List<String> p = new ArrayList<>();
                for (SweepSpec.Axis a : main) {
                    p.add(a.values().get(i));
                }
                points.add(p);
            }
        } else {
            points.add(new ArrayList<>());
            for (SweepSpec.Axis a : main) {
                List<List<String>> next = new ArrayList<>();
                for (List<String> p : points) {
                    for (String v : a.values()) {
                        List<String> q = new ArrayList<>(p);
                        q.add(v);
                        next.add(q);
                    }
                }
                points = next;
            }
        }
        if (!seedAxis) {
            return points;
        }
        List<List<String>> out = new ArrayList<>();
        for (List<String> p : points) {
            for (String s : axes.get(axes.size() - 1).values()) {
                List<String> q = new ArrayList<>(p);
                q.add(s);
                out.add(q);
            }
        }
        return out;
    }

    private static String stripKey(String message, String key) {
        return !key.isEmpty() && message.startsWith(key + ": ") ? message.substring(key.length() + 2) : message;
    }
}
