package dev.incontext.sweep.spark;

import dev.incontext.ops.NativeCache;
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
import java.util.TreeSet;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
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
    @Override
    public boolean accepts(String master) {
        return SparkSetup.accepts(master);
    }

    @Override
    public List<CellResult> run(SweepPlan plan, SweepOptions options, SweepListener listener) throws Exception {
        double extract = NativeCache.prepare();
        listener.onNotice(String.format(Locale.ROOT, "native libraries ready in %.1f s (JavaCPP cache %s; the first run "
                + "on a machine extracts about 435 MB there)", extract, NativeCache.cacheDir()));
        int cores = Runtime.getRuntime().availableProcessors();
        String master = options.master();
        boolean embedded = SparkSetup.embedded(master);
        int slots = SparkSetup.slots(master);   // -1: known once executors register
        int taskCpus = Integer.parseInt(options.sparkConf().getOrDefault("spark.task.cpus", "1"));
        int threads = options.threadsPerCell() > 0 ? options.threadsPerCell()
                : slots > 0 ? Math.max(1, cores / Math.max(1, Math.min(slots, plan.cells().size()))) : taskCpus;

        SparkConf conf = SparkSetup.conf(master, "incontext sweep " + plan.outDir().toAbsolutePath().getFileName(),
                threads, options.sparkConf(), listener::onNotice);

        List<Cell> cells = plan.cells();
        List<CellResult> out = new ArrayList<>();
        JavaSparkContext sc = new JavaSparkContext(conf);
        try {
            sc.setLogLevel(System.getenv().getOrDefault("INCONTEXT_SPARK_LOG_LEVEL", "WARN"));
            int parallelism = slots > 0 ? Math.min(slots, cells.size()) : Math.max(1, sc.defaultParallelism());
            listener.onNotice(String.format(Locale.ROOT, "Spark %s, master %s: %d cells, %s", sc.version(), master,
                    cells.size(), threadsNotice(plan, threads)));
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
                            + "a re-run resumes them): " + SparkSetup.firstLine(c.getMessage()));
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

    /** The class path entries of this JVM (for tests that start cluster processes from the Maven class path). */
    static List<String> classPath() {
        return List.of(System.getProperty("java.class.path").split(File.pathSeparator));
    }

    /** What each cell runs on: a config's training.threads wins over the backend's share (RankTask, CellRunner). */
    static String threadsNotice(SweepPlan plan, int share) {
        TreeSet<Integer> set = new TreeSet<>();
        boolean unset = false;
        for (Cell c : plan.cells()) {
            int t;
            try {
                t = plan.cellConfig(c).training().threads();
            } catch (RuntimeException e) {
                // Not a training config (he-modular's cells), or one the cell itself will reject by name: the notice
                // does not decide that, so such a cell counts as taking the share.
                t = 0;
            }
            if (t > 0) {
                set.add(t);
            } else {
                unset = true;
            }
        }
        if (set.isEmpty()) {
            return String.format(Locale.ROOT, "%d torch/OpenBLAS threads each", share);
        }
        String fixed = "torch threads as the cells' configs set them (" + set.stream().map(String::valueOf)
                .collect(Collectors.joining(", ")) + ")";
        return unset ? fixed + String.format(Locale.ROOT, ", %d each for the others", share) : fixed;
    }
}
