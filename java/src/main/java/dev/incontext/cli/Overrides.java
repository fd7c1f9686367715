package dev.incontext.cli;

import java.util.ArrayList;
import java.util.List;

/** Accepts overrides as key=value or --key=value. */
final class Overrides {
    private Overrides() {}

    static List<String> normalise(List<String> raw) {
        List<String> out = new ArrayList<>();
        for (String s : raw) {
            out.add(s.startsWith("--") ? s.substring(2) : s);
        }
        return out;
    }
}
