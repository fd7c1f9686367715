package dev.incontext.sweep.spark;

import dev.incontext.config.RunSpec;
import dev.incontext.ops.NativeCache;
import dev.incontext.train.ClusterLaunch;
import dev.incontext.train.TrainRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaSparkContext;
import scala.reflect.ClassTag$;

/**
 * Runs the ranks of one data-parallel run as one Spark barrier stage: Spark starts all {@code training.world_size}
 * tasks together (gang scheduling) or none, rank 0's task picks the rendezvous address (its executor's host and a free
 * port) and hands it to the others through the barrier context's {@code allGather}, and every task then trains as
 * one Gloo rank ({@link RankTask}). {@code local[N]} runs the ranks as threads of this JVM (N must be at least the
 * world size); a cluster master runs them in its executors, one task slot each.
 *
 * <p>Failure: a rank's error fails its task, Spark ends the stage's other tasks (a rank blocked in a collective returns
 * within the collective timeout), and the run ends with the failed rank named; the stage is not retried
 * ({@code spark.task.maxFailures=1} unless {@code --conf} says otherwise), since a retry from scratch would meet the
 * run it had begun: resume it with {@code --resume}.
 */
public final class SparkTrainLaunch implements ClusterLaunch {
    /** How Spark names a failed task in a stage's failure: its index, which is the rank. */
    private static final Pattern FAILED_TASK = Pattern.compile("Task (\\d+) in stage|barrier task ResultTask\\(\\d+, (\\d+)\\)");

    @Override
    public boolean accepts(String master) {
        return SparkSetup.accepts(master);
    }

    @Override
    public String train(TrainRequest request, String master, Map<String, String> conf, Consumer<String> notices)
            throws Exception {
        RunSpec config = request.config();
        int world = config.training().worldSize();
        int slots = SparkSetup.slots(master);
        if (slots > 0 && slots < world) {
            throw new IllegalArgumentException("--master " + master + " offers " + slots + " task slot(s); a barrier "
                    + "stage of " + world + " ranks needs " + world + " at once (e.g. local[" + world + "])");
        }
        double extract = NativeCache.prepare();
        notices.accept(String.format(Locale.ROOT, "native libraries ready in %.1f s (JavaCPP cache %s)", extract,
                NativeCache.cacheDir()));
        int cores = Runtime.getRuntime().availableProcessors();
        boolean embedded = SparkSetup.embedded(master);
        int taskCpus = Integer.parseInt(conf.getOrDefault("spark.task.cpus", "1"));
        int threads = embedded ? Math.max(1, cores / world) : taskCpus;
        SparkConf sparkConf = SparkSetup.conf(master, "incontext train " + config.outDir(), threads,
                conf, notices);
        if (!conf.containsKey("spark.task.maxFailures")) {
            sparkConf.set("spark.task.maxFailures", "1");
        }
        JavaSparkContext sc = new JavaSparkContext(sparkConf);
        try {
            sc.setLogLevel(System.getenv().getOrDefault("INCONTEXT_SPARK_LOG_LEVEL", "WARN"));
            notices.accept(String.format(Locale.ROOT, "Spark %s, master %s: one barrier stage of %d ranks (Gloo), %d "
                    + "torch/BLAS thread(s) each; rank 0 writes %s", sc.version(), master, world, threads,
                    config.outDir()));
            List<Integer> ranks = new ArrayList<>(IntStream.range(0, world).boxed().toList());
            Object[] lines = (Object[]) sc.parallelize(ranks, world).rdd().barrier()
                    .mapPartitions(new RankTask(request, threads), false, ClassTag$.MODULE$.apply(String.class))
                    .collect();
            return lines.length == 0 ? "(rank 0 reported nothing)" : (String) lines[0];
        } catch (Exception e) {   // Scala does not declare the SparkException a failed stage throws
            if (e instanceof SparkException se) {
                throw failure(se);
            }
            throw e;
        } finally {
            sc.stop();
        }
    }

    /**
     * The rank Spark names in a failed stage ({@code Task 1 in stage 0.0 failed ...}, or for a barrier stage
     * {@code barrier task ResultTask(0, 1) finished unsuccessfully}) and the error's own message.
     */
    static RankFailure failure(SparkException e) {
        String message = e.getMessage() == null ? "" : e.getMessage();
        Matcher m = FAILED_TASK.matcher(message);
        int rank = m.find() ? Integer.parseInt(m.group(1) != null ? m.group(1) : m.group(2)) : -1;
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String why = root != e ? root.getClass().getSimpleName() + ": " + SparkSetup.firstLine(root.getMessage())
                : cause(message);
        return new RankFailure(rank, why, e);
    }

    /**
     * The exception line of Spark's "most recent failure: Lost task ... (executor 1): java.lang.X: message" text, or
     * the line after a barrier stage's first (e.g. {@code ExecutorLostFailure (executor 1 exited ...) Reason: Command
     * exited with code 137}).
     */
    private static String cause(String message) {
        int i = message.indexOf("): ");
        if (i >= 0) {
            return SparkSetup.firstLine(message.substring(i + 3));
        }
        String[] lines = message.split("\n");
        return lines.length > 1 && !lines[1].isBlank() ? lines[1].strip() : SparkSetup.firstLine(message);
    }
}
