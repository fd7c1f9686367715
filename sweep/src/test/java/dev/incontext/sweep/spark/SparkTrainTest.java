package dev.incontext.sweep.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.train.ClusterLaunch;
import dev.incontext.train.TrainRequest;
import dev.incontext.train.Trainer;
import dev.incontext.util.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkException;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** One data-parallel run as a Spark barrier stage in this JVM ({@code local[2]}); the cluster case is in {@link StandaloneSweepTest}. */
class SparkTrainTest {
    /** The tiny demo run of the sweep tests for 30 steps, every loss logged. */
    static RunConfig config(Path out, String... more) {
        List<String> o = SparkSweepTest.concat(SparkSweepTest.TINY, "training.steps=30", "training.save_every=10",
                "training.keep_checkpoints=3", "out_dir=" + out);
        o.addAll(List.of(more));
        return ConfigLoader.load(RunConfig.class, "demo", o);
    }

    static List<Double> losses(Path runDir) throws IOException {
        List<Double> out = new ArrayList<>();
        for (String l : Files.readAllLines(runDir.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
            JsonNode n = Json.parse(l);
            if (n.has("loss")) {
                out.add(Json.number(n.get("loss")));
            }
        }
        return out;
    }

    /**
     * The same run in one process on the whole batch: 2 ranks on half of it each agree up to the order of float32
     * sums (DataParallelTest measured 1.9e-7 relative over 50 steps; 1e-5 allowed as there).
     */
    static void assertTrainsAsOneProcess(Path dir, Path twoRanks) throws IOException {
        RunConfig one = config(dir.resolve("one-process"));
        try (PointerScope scope = new PointerScope()) {
            new Trainer().train(one, null);
        }
        List<Double> a = losses(dir.resolve("one-process"));
        List<Double> b = losses(twoRanks);
        assertEquals(30, a.size());
        assertEquals(a.size(), b.size(), "every step logged once, by rank 0");
        double worst = 0;
        for (int i = 0; i < a.size(); i++) {
            worst = Math.max(worst, Math.abs(a.get(i) - b.get(i)) / Math.abs(a.get(i)));
        }
        System.out.printf("barrier stage (2 ranks) vs one process: losses within %.2e relative%n", worst);
        assertTrue(worst <= 1e-5, "losses differ by " + worst + "\n" + a + "\n" + b);
        assertTrue(Files.isDirectory(twoRanks.resolve("checkpoints/step-00000030")), "rank 0 wrote the last checkpoint");
    }

    @Test
    @Timeout(300)
    void barrierStageOnLocal2TrainsAsOneProcessWithTheWholeBatch(@TempDir Path dir) throws Exception {
        // Pools at 0 (every core): each rank must get its share of this JVM's cores instead.
        RunConfig two = config(dir.resolve("spark"), "training.world_size=2", "training.threads=0",
                "training.blas_threads=0");
        List<String> notices = new ArrayList<>();
        String line = new SparkTrainLaunch().train(TrainRequest.of(two, null, false, Duration.ofSeconds(60)),
                "local[2]", Map.of(), notices::add);
        assertTrue(line.contains("on 2 ranks"), line);
        assertTrue(String.join("\n", notices).contains("one barrier stage of 2 ranks"), notices.toString());
        String saved = Files.readString(dir.resolve("spark/config.yaml"), StandardCharsets.UTF_8);
        int share = Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
        assertTrue(saved.matches("(?s).*\n  threads: " + share + "\n.*") && saved.matches(
                "(?s).*\n  blas_threads: " + share + "\n.*"), "each rank's pools: " + share + "\n" + saved);
        assertTrainsAsOneProcess(dir, dir.resolve("spark"));
    }

    @Test
    void aMasterWithFewerSlotsThanRanksIsRefusedBeforeSparkStarts(@TempDir Path dir) {
        // Pools at 0 (every core): each rank must get its share of this JVM's cores instead.
        RunConfig two = config(dir.resolve("spark"), "training.world_size=2", "training.threads=0",
                "training.blas_threads=0");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SparkTrainLaunch()
                .train(TrainRequest.of(two, null, false, Duration.ofSeconds(60)), "local[1]", Map.of(), m -> { }));
        assertTrue(e.getMessage().contains("local[2]") && e.getMessage().contains("1 task slot"), e.getMessage());
        assertEquals(SparkTrainLaunch.class, ClusterLaunch.forMaster("local[2]").getClass());
        assertEquals(SparkTrainLaunch.class, ClusterLaunch.forMaster("spark://127.0.0.1:7077").getClass());
        assertThrows(IllegalArgumentException.class, () -> ClusterLaunch.forMaster("serial"));
    }

    /**
     * Spark's text for a failed task names the rank (the task index) and the error the rank threw; a barrier stage
     * that lost an executor says so on its second line.
     */
    @Test
    void aStageFailureNamesTheRankAndItsError() {
        SparkException e = new SparkException("Job aborted due to stage failure: Task 1 in stage 0.0 failed 1 times, "
                + "most recent failure: Lost task 1.0 in stage 0.0 (TID 1) (127.0.0.1 executor driver): "
                + "java.lang.IllegalStateException: rank 1 of 2: the other ranks did not all join within 60 s\n"
                + "\tat dev.incontext.train.DataParallel.connect(DataParallel.java:97)");
        ClusterLaunch.RankFailure f = SparkTrainLaunch.failure(e);
        assertEquals(1, f.rank());
        assertEquals("rank 1 failed: java.lang.IllegalStateException: rank 1 of 2: the other ranks did not all join "
                + "within 60 s", f.getMessage());
        ClusterLaunch.RankFailure lost = SparkTrainLaunch.failure(new SparkException("Job aborted due to stage "
                + "failure: Could not recover from a failed barrier ResultStage. Most recent failure reason: Stage "
                + "failed because barrier task ResultTask(0, 1) finished unsuccessfully.\nExecutorLostFailure "
                + "(executor 1 exited caused by one of the running tasks) Reason: Command exited with code 137"));
        assertEquals(1, lost.rank());
        assertEquals("rank 1 failed: ExecutorLostFailure (executor 1 exited caused by one of the running tasks) "
                + "Reason: Command exited with code 137", lost.getMessage());
    }
}
