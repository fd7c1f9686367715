package dev.incontext.sweep;

import java.util.Map;

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
        if (threadsPerCell < 0) {
            throw new IllegalArgumentException("--threads-per-cell must be >= 0 (0 = cores / concurrent cells)");
        }
        sparkConf = Map.copyOf(sparkConf);
    }

    /** The default master: every core of this machine in one embedded Spark. */
    public static String defaultMaster() {
        return "local[" + Runtime.getRuntime().availableProcessors() + "]";
    }
}
