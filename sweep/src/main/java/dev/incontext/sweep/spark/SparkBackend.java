package dev.incontext.sweep.spark;

import dev.incontext.ops.NativeCache;
import dev.incontext.ops.Blas;
import dev.incontext.util.Logging;
import dev.incontext.sweep.Cell;
import dev.incontext.sweep.CellResult;
import dev.incontext.sweep.CellRunner;
import dev.incontext.sweep.SweepBackend;
import dev.incontext.sweep.SweepListener;
import dev.incontext.sweep.SweepOptions;
import dev.incontext.sweep.SweepPlan;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.util.CollectionAccumulator;

/**
 * Runs every cell of a sweep as one Spark task. {@code local[N]} embeds Spark in this JVM (no set-up); any other master
 * URL ({@code spark://host:7077}, {@code local-cluster[...]}, {@code yarn}, {@code k8s://...}) runs the tasks on
 * that cluster's executors.
 *
 * <p>Threads: a cell gets {@code cores / N} torch and OpenBLAS threads in {@code local[N]} (so tasks x threads does not
 * oversubscribe the machine) and {@code spark.task.cpus} on a cluster, unless its config or {@code --threads-per-cell}
 * says otherwise; executors get {@code OMP_WAIT_POLICY=PASSIVE} and the OpenBLAS/OpenMP sizes through
 * {@code spark.executorEnv.*}. Errors: a cell's own error fails that cell at once (no Spark retry); a lost executor
 * (a native crash) is retried by Spark ({@code spark.task.maxFailures}, 4 on a cluster) and the cell resumes from what
 * it saved last. In local mode a native crash ends this JVM: re-running the sweep resumes.
 */
public final class SparkBackend implements SweepBackend {
    private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\s*\\d+)?])?");
    private static final Pattern LOCAL_CLUSTER = Pattern.compile("local-cluster\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*,\\s*\\d+\\s*]");

    @Override
    public boolean accepts(String master) {
        return LOCAL.matcher(master).matches() || LOCAL_CLUSTER.matcher(master).matches()
                || master.startsWith("spark://") || master.equals("yarn") || master.startsWith("k8s://");
    }

    @Override
    public List<CellResult> run(SweepPlan plan, SweepOptions options, SweepListener listener) throws Exception {
        double extract = NativeCache.prepare();
        listener.onNotice(String.format(Locale.ROOT, "native libraries ready in %.1f s (JavaCPP cache %s; the first run "
                + "on a machine extracts about 435 MB there)", extract, NativeCache.cacheDir()));
        int cores = Runtime.getRuntime().availableProcessors();
        String master = options.master();
        Matcher local = LOCAL.matcher(master);
        Matcher localCluster = LOCAL_CLUSTER.matcher(master);
        boolean embedded = local.matches();
        int slots;
        if (embedded) {
            slots = local.group(1) == null ? 1 : local.group(1).equals("*") ? cores : Integer.parseInt(local.group(1));
        } else if (localCluster.matches()) {
            slots = Integer.parseInt(localCluster.group(1)) * Integer.parseInt(localCluster.group(2));
        } else {
            slots = -1;   // known once executors register
        }
        int taskCpus = Integer.parseInt(options.sparkConf().getOrDefault("spark.task.cpus", "1"));
        int threads = options.threadsPerCell() > 0 ? options.threadsPerCell()
                : slots > 0 ? Math.max(1, cores / Math.max(1, Math.min(slots, plan.cells().size()))) : taskCpus;

        // Before Spark's first log line initialises Log4j; a JVM that names its own configuration keeps it.
        Logging.useProjectConfiguration();
        SparkConf conf = new SparkConf()
                .setMaster(master)
                .setAppName("incontext sweep " + plan.outDir().toAbsolutePath().getFileName())
                .set("spark.ui.showConsoleProgress", "false")
                .set("spark.log.structuredLogging.enabled", "false")
                .set("spark.executorEnv.OMP_WAIT_POLICY", "PASSIVE")
                .set("spark.executorEnv.OPENBLAS_NUM_THREADS", Integer.toString(threads))
                .set("spark.executorEnv.OMP_NUM_THREADS", Integer.toString(threads))
                .set("spark.executorEnv.MKL_THREADING_LAYER", "GNU");
        if (embedded) {
            // Nothing in an embedded sweep needs another host: the driver and block manager listen on the loopback
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
            // run the same matrix products: with another BLAS a cell's losses differ from a serial run's in their
            // last bits.
            String blas = Blas.isMkl()
                    ? " -D" + Blas.JAVACPP_PROPERTY + "=mkl_rt"
                    : " -D" + Blas.PROPERTY + "=openblas";
            conf.set("spark.executor.extraJavaOptions", "-Xss8m"
                    + (cacheDir == null ? "" : " -Dorg.bytedeco.javacpp.cachedir=" + cacheDir) + blas);
        }
        boolean userClassPath = options.sparkConf().containsKey("spark.jars")
                || options.sparkConf().containsKey("spark.executor.extraClassPath");
        if (!embedded && !userClassPath) {
            // Executors load the same jars at the same paths as this JVM: right for a cluster on this machine or one
            // with the installation on a shared file system; otherwise pass --conf spark.jars=... (see README).
            conf.set("spark.executor.extraClassPath", System.getProperty("java.class.path"));
            listener.onNotice("executors use this JVM's class path at the same paths (spark.executor.extraClassPath); "
                    + "set --conf spark.jars=... when the workers do not have these files");
        }
        for (Map.Entry<String, String> e : options.sparkConf().entrySet()) {
            conf.set(e.getKey(), e.getValue());
        }

        List<Cell> cells = plan.cells();
        List<CellResult> out = new ArrayList<>();
        JavaSparkContext sc = new JavaSparkContext(conf);
        try {
            sc.setLogLevel(System.getenv().getOrDefault("INCONTEXT_SPARK_LOG_LEVEL", "WARN"));
            int parallelism = slots > 0 ? Math.min(slots, cells.size()) : Math.max(1, sc.defaultParallelism());
            listener.onNotice(String.format(Locale.ROOT, "Spark %s, master %s: %d cells, %d torch/OpenBLAS threads each",
                    sc.version(), master, cells.size(), threads));
            listener.onStart(cells.size(), parallelism);
            sc.sc().addSparkListener(new SparkListener() {
                @Override
                public void onTaskStart(SparkListenerTaskStart start) {
                    int i = start.taskInfo().index();
                    if (i >= 0 && i < cells.size()) {
                        listener.onCellStarted(cells.get(i));
                    }
                }
            });
            CollectionAccumulator<CellResult> acc = sc.sc().collectionAccumulator("incontext cells");
            CellRunner runner = new CellRunner(plan, new CellRunner.Options(threads, options.retry(),
                    plan.spec().evaluate()));
            JavaRDD<Cell> rdd = sc.parallelize(cells, cells.size());
            JavaFutureAction<Void> job = rdd.foreachAsync(new CellTask(runner, embedded, acc));
            boolean cancelled = false;
            while (true) {
                boolean finished = job.isDone();
                List<CellResult> now = acc.value();
                for (int i = out.size(); i < now.size(); i++) {
                    CellResult r = now.get(i);
                    out.add(r);
                    listener.onCellFinished(r);
                    if (options.failFast() && !cancelled && r.failed() && r.action() != CellResult.Action.SKIPPED) {
                        listener.onNotice("--fail-fast: stopping the sweep after the failure of " + r.name()
                                + "; running cells stop at their next step and resume on the next run");
                        cancelled = true;
                        job.cancel(true);
                    }
                }
                if (finished) {
                    break;
                }
                Thread.sleep(200);
            }
            try {
                job.get();
            } catch (CancellationException e) {
                if (!cancelled) {
                    throw e;
                }
            } catch (ExecutionException e) {
                if (!cancelled) {
                    Throwable c = e.getCause() == null ? e : e.getCause();
                    listener.onNotice("Spark gave up on the sweep's job (cells not reported below were not finished; "
                            + "a re-run resumes them): " + firstLine(c.getMessage()));
                }
            }
            // Results of tasks that completed while the job was being cancelled.
            List<CellResult> last = acc.value();
            for (int i = out.size(); i < last.size(); i++) {
                out.add(last.get(i));
                listener.onCellFinished(last.get(i));
            }
        } finally {
            sc.stop();
        }
        return out;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "(no message)";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** The class path entries of this JVM (for tests that start cluster processes from the Maven class path). */
    static List<String> classPath() {
        return List.of(System.getProperty("java.class.path").split(File.pathSeparator));
    }
}
