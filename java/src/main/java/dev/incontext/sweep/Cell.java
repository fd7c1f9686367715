package dev.incontext.sweep;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * One point of a sweep: its position in the grid, the directory name of its run, and the axis values that make it
 * (as {@code key=value} overrides on top of the sweep's base config). Plain strings, so it travels to Spark executors.
 */
public record Cell(int index, String name, List<String> keys, List<String> values) implements Serializable {
    private static final long serialVersionUID = 1L;

    public Cell {
        if (keys.size() != values.size()) {
            throw new IllegalArgumentException("a cell needs one value per key: " + keys + " / " + values);
        }
        keys = new ArrayList<>(keys);
        values = new ArrayList<>(values);
    }

    /** The overrides that turn the base config into this cell's config (out_dir and threads not included). */
    public List<String> overrides() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            out.add(keys.get(i) + "=" + values.get(i));
        }
        return out;
    }

    /** The value of an axis key in this cell, or null. */
    public String value(String key) {
        int i = keys.indexOf(key);
        return i < 0 ? null : values.get(i);
    }
}
