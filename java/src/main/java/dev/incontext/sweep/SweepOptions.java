package dev.incontext.sweep;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a sweep executes. {@code master}: {@code serial} (one cell after another in this JVM, no Spark), or a Spark
 * master URL ({@code local[N]}, {@code local-cluster[...]}, {@code spark://host:7077}, ...), which needs the
 * {@code incontext-sweep} module on the class path. {@code threadsPerCell}: torch and OpenBLAS threads of each cell whose
 * config leaves them at 0; 0 lets the backend size them (cores / concurrent cells). {@code sparkConf}: extra Spark
 * settings ({@code --conf k=v}).
 */
public record SweepOptions(String master, boolean retry, boolean failFast, int threadsPerCell, Map<String, String> sparkConf) {
    public SweepOptions {
        if (master == null || master.isBlank()) {
            throw new IllegalArgumentException("--master must not be empty: use local[N], a Spark master URL, or serial");
        }
        Matcher local = LOCAL_N.matcher(master.strip());
        if (local.matches()) {
            long n;
            try {
                n = Long.parseLong(local.group(1));
            } catch (NumberFormatException e) {
                n = Long.MAX_VALUE;
            }
            if (n < 1 || n > MAX_LOCAL_SLOTS) {
                throw new IllegalArgumentException("--master " + master + ": the number of cells side by side must be "
                        + "in 1.." + MAX_LOCAL_SLOTS + " (this machine has " + Runtime.getRuntime().availableProcessors()
                        + " cores)");
            }
        }
        if (threadsPerCell < 0) {
            throw new IllegalArgumentException("--threads-per-cell must be >= 0 (0 = cores / concurrent cells)");
        }
        sparkConf = Map.copyOf(sparkConf);
    }

    private static final Pattern LOCAL_N = Pattern.compile("local\\[\\s*(\\d+)\\s*(?:,\\s*\\d+\\s*)?]");
    /** More cells side by side than this are threads that cannot all run: a typo, not a plan. */
    private static final int MAX_LOCAL_SLOTS = 4096;

    /** The default master: every core of this machine in one embedded Spark. */
    public static String defaultMaster() {
        return "local[" + Runtime.getRuntime().availableProcessors() + "]";
    }
}
