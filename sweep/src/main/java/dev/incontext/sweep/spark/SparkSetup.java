package dev.incontext.sweep.spark;

import dev.incontext.ops.Blas;
import dev.incontext.ops.Memory;
import dev.incontext.util.Logging;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.bytedeco.pytorch.global.torch;

/**
 * What every Spark job of the project shares, sweeps and data-parallel runs alike: which master URLs it takes, how
 * many task slots a master offers when that is known before executors register, and the configuration that makes
 * executors run libtorch as this JVM does (thread pools, OpenMP wait policy, BLAS, class path, loopback-only embedded
 * mode).
 */
final class SparkSetup {
    private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\s*\\d+)?])?");
    private static final Pattern LOCAL_CLUSTER = Pattern.compile("local-cluster\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*,\\s*\\d+\\s*]");

    private SparkSetup() {}

    static boolean accepts(String master) {
        return LOCAL.matcher(master).matches() || LOCAL_CLUSTER.matcher(master).matches()
                || master.startsWith("spark://") || master.equals("yarn") || master.startsWith("k8s://");
    }

    /** {@code local[N]}: Spark embedded in this JVM. */
    static boolean embedded(String master) {
        return LOCAL.matcher(master).matches();
    }

    /** The task slots the master offers, or -1 when only the cluster knows (once its executors register). */
    static int slots(String master) {
        int cores = Runtime.getRuntime().availableProcessors();
        Matcher local = LOCAL.matcher(master);
        Matcher localCluster = LOCAL_CLUSTER.matcher(master);
        if (local.matches()) {
            return local.group(1) == null ? 1 : local.group(1).equals("*") ? cores : Integer.parseInt(local.group(1));
        }
        if (localCluster.matches()) {
            return Integer.parseInt(localCluster.group(1)) * Integer.parseInt(localCluster.group(2));
        }
        return -1;
    }

    /**
     * The configuration of a job on {@code master} whose tasks each run libtorch on {@code threads} torch and BLAS
     * threads; {@code userConf} (from {@code --conf}) is applied last and wins.
     */
    static SparkConf conf(String master, String appName, int threads, Map<String, String> userConf,
            Consumer<String> notices) {
        boolean embedded = embedded(master);
        // Before Spark's first log line initialises Log4j; a JVM that names its own configuration keeps it.
        Logging.useProjectConfiguration();
        SparkConf conf = new SparkConf()
                .setMaster(master)
                .setAppName(appName)
                .set("spark.ui.showConsoleProgress", "false")
                .set("spark.log.structuredLogging.enabled", "false")
                .set("spark.executorEnv.OMP_WAIT_POLICY", "PASSIVE")
                .set("spark.executorEnv.OPENBLAS_NUM_THREADS", Integer.toString(threads))
                .set("spark.executorEnv.OMP_NUM_THREADS", Integer.toString(threads))
                .set("spark.executorEnv.MKL_THREADING_LAYER", "GNU");
        if (embedded) {
            // Nothing in an embedded job needs another host: the driver and block manager listen on the loopback
            // address only, and the web UI (whose kill links are on by default) is off unless asked for with
            // --conf spark.ui.enabled=true, and then on loopback too.
            conf.set("spark.driver.host", "127.0.0.1")
                    .set("spark.driver.bindAddress", "127.0.0.1")
                    .set("spark.ui.enabled", "false")
                    .set("spark.ui.killEnabled", "false");
        }
        String cacheDir = System.getProperty("org.bytedeco.javacpp.cachedir");
        if (!embedded) {
            // -Xss8m: see the launcher script (libtorch's multithreaded LU overflows a 1 MB thread stack).
            // The BLAS this JVM runs (dev.incontext.ops.Blas: what loaded, not what was asked for), so that executors
            // run the same matrix products: with another BLAS a task's losses differ from a serial run's in their
            // last bits.
            String blas = Blas.isMkl()
                    ? " -D" + Blas.JAVACPP_PROPERTY + "=mkl_rt"
                    : " -D" + Blas.PROPERTY + "=openblas";
            // Executors keep freed memory or not as this JVM does (dev.incontext.ops.Memory).
            String malloc = " -D" + Memory.PROPERTY + "=" + Memory.policy();
            conf.set("spark.executor.extraJavaOptions", "-Xss8m"
                    + (cacheDir == null ? "" : " -Dorg.bytedeco.javacpp.cachedir=" + cacheDir) + blas + malloc);
        }
        boolean userClassPath = userConf.containsKey("spark.jars")
                || userConf.containsKey("spark.executor.extraClassPath");
        if (!embedded && !userClassPath) {
            // Executors load the same jars at the same paths as this JVM: right for a cluster on this machine or one
            // with the installation on a shared file system; otherwise pass --conf spark.jars=... (see README).
            conf.set("spark.executor.extraClassPath", System.getProperty("java.class.path"));
            notices.accept("executors use this JVM's class path at the same paths (spark.executor.extraClassPath); "
                    + "set --conf spark.jars=... when the workers do not have these files");
        }
        for (Map.Entry<String, String> e : userConf.entrySet()) {
            conf.set(e.getKey(), e.getValue());
        }
        return conf;
    }

    /**
     * The GPU a task runs on: the one Spark's resource scheduling gave it ({@code spark.task.resource.gpu.amount}),
     * else, when {@code guessLocally}, GPU ({@code index} mod count) of this machine; as a device string
     * ({@code cuda:N}), or null when neither applies.
     */
    static String gpu(TaskContext ctx, int index, boolean guessLocally) {
        Map<String, ResourceInformation> res = ctx.resourcesJMap();
        ResourceInformation gpu = res == null ? null : res.get("gpu");
        if (gpu != null && gpu.addresses().length > 0) {
            return "cuda:" + gpu.addresses()[0];
        }
        if (guessLocally) {
            long n = torch.cuda_device_count();
            if (n > 0) {
                return "cuda:" + (index % n);
            }
        }
        return null;
    }

    static String firstLine(String s) {
        if (s == null) {
            return "(no message)";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
