package dev.incontext.eval;

import dev.incontext.util.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Evaluated curves on disk, one file per (model parameters, config, setting, predictor, evaluation request, code
 * version): re-running a report recomputes nothing that has not changed. The key is a SHA-256 over all of those, so a
 * new checkpoint, a changed config key or a new build misses the cache instead of serving stale numbers. Writes are
 * atomic (a torn file is never read back: an unreadable entry counts as a miss).
 */
public final class EvalCache {
    private final Path dir;

    public EvalCache(Path dir) {
        this.dir = dir;
    }

    /** The key of one curve: every string that determines it. */
    public static String key(List<String> parts) {
        MessageDigest md = Sha256.digest();
        for (String p : parts) {
            md.update(p.getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
        }
        return Sha256.hex(md);
    }

    public Optional<Evaluation.Curve> get(String key, String predictor) {
        Path f = dir.resolve(key + ".curve");
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
            if (lines.size() != 4 || !lines.get(0).equals(predictor)) {
                return Optional.empty();
            }
            return Optional.of(new Evaluation.Curve(predictor, parse(lines.get(1)), parse(lines.get(2)),
                    parse(lines.get(3))));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    public void put(String key, Evaluation.Curve curve) throws IOException {
        Files.createDirectories(dir);
        StringBuilder s = new StringBuilder(curve.predictor()).append('\n');
        for (double[] row : new double[][] {curve.mean(), curve.low(), curve.high()}) {
            for (int i = 0; i < row.length; i++) {
                s.append(i == 0 ? "" : " ").append(Double.toString(row[i]));
            }
            s.append('\n');
        }
        Path tmp = Files.createTempFile(dir, "tmp-", ".curve");
        Files.writeString(tmp, s, StandardCharsets.UTF_8);
        try {
            Files.move(tmp, dir.resolve(key + ".curve"), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, dir.resolve(key + ".curve"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static double[] parse(String line) {
        String t = line.strip();
        if (t.isEmpty()) {
            return new double[0];
        }
        String[] parts = t.split(" ");
        double[] v = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            v[i] = Double.parseDouble(parts[i].toLowerCase(Locale.ROOT));
        }
        return v;
    }
}
