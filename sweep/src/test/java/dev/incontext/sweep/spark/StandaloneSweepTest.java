package dev.incontext.sweep.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.sweep.CellResult;
import dev.incontext.sweep.SweepListener;
import dev.incontext.sweep.SweepOptions;
import dev.incontext.sweep.SweepOutcome;
import dev.incontext.sweep.SweepPlan;
import dev.incontext.sweep.SweepSpec;
import dev.incontext.sweep.Sweeps;
import dev.incontext.train.ClusterLaunch;
import dev.incontext.train.TrainRequest;
import dev.incontext.train.Trainer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sweep on a standalone Spark cluster started by the test on 127.0.0.1 from the Maven class path (a Master and a
 * Worker JVM, no Spark distribution): the Worker starts two executor JVMs of one core each, which run the cells.
 */
class StandaloneSweepTest {
    @TempDir
    static Path dir;
    private static final List<Process> CLUSTER = new ArrayList<>();
    private static String master;

    /**
     * Any failure carries the cluster's logs in its message (the summary CI prints), not only the assertions that add
     * them: a Spark error such as a stopped SparkContext says nothing of why the Master ended the application.
     */
    @RegisterExtension
    static final TestExecutionExceptionHandler CLUSTER_LOGS = (context, failure) -> {
        if (failure.getMessage() != null && failure.getMessage().contains("==== ")) {
            throw failure;   // an assertion that already lists them
        }
        AssertionError withLogs = new AssertionError(failure + "\n" + logs(dir), failure);
        withLogs.setStackTrace(failure.getStackTrace());   // reported at the test's line, not this handler's
        throw withLogs;
    };

    @BeforeAll
    static void startCluster() throws IOException {
        int port = freePort();
        Path sparkHome = dir.resolve("spark-home");
        // The Worker builds executor command lines from SPARK_HOME; an empty jars/ folder is all it needs when the
        // executors' class path comes from spark.executor.extraClassPath.
        Files.createDirectories(sparkHome.resolve("jars"));
        Path work = Files.createDirectories(dir.resolve("work"));
        CLUSTER.add(start(dir.resolve("master.log"), sparkHome, "org.apache.spark.deploy.master.Master",
                "--host", "127.0.0.1", "--port", Integer.toString(port), "--webui-port", Integer.toString(freePort())));
        CLUSTER.add(start(dir.resolve("worker.log"), sparkHome, "org.apache.spark.deploy.worker.Worker",
                "--host", "127.0.0.1", "--cores", "2", "--memory", "2g", "--work-dir", work.toString(),
                "--webui-port", Integer.toString(freePort()), "spark://127.0.0.1:" + port));
        master = "spark://127.0.0.1:" + port;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {   // wait for the Master to listen, so the driver's first connection succeeds
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                break;
            } catch (IOException notYet) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("the Spark Master did not start listening on port " + port + " in 120 s; "
                            + "see " + dir.resolve("master.log"), notYet);
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(e);
                }
            }
        }
    }

    @AfterAll
    static void stopCluster() throws InterruptedException {
        for (Process p : CLUSTER) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        for (Process p : CLUSTER) {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        CLUSTER.clear();   // a rerun of a failed test starts a new cluster (see the pom)
    }

    private static SweepOptions options() {
        return new SweepOptions(master, false, false, 0, Map.of("spark.ui.enabled", "false", "spark.executor.cores", "1",
                "spark.cores.max", "2", "spark.executor.memory", "512m", "spark.driver.host", "127.0.0.1",
                "spark.driver.bindAddress", "127.0.0.1"));
    }

    /**
     * The 2 x 2 grid with a bad value on one axis (training.batch_size=0): those two cells are reported failed at once,
     * with the config's message, and are not retried. While one of the other two trains, its executor JVM is killed
     * (as a native crash would end it): Spark runs the task again, the cell resumes from its newest checkpoint, and
     * both good cells end bit-identical to serial runs. (One sweep for both checks: executor JVMs are slow to start.)
     */
    @Test
    @Timeout(300)
    void gridWithFailingCellsAndALostExecutor() throws Exception {
        Path out = dir.resolve("grid");
        List<String> args = SparkSweepTest.concat(SparkSweepTest.TINY, "training.steps=600", "training.save_every=50",
                "training.log_every=50", "training.learning_rate=0.001,0.003", "training.batch_size=16,0");
        SweepPlan plan = SweepPlan.of(SweepSpec.load("demo", args, null, out.toString()));
        AtomicReference<Path> killed = new AtomicReference<>();
        Thread killer = new Thread(() -> killed.set(killTheExecutorOfACellWithACheckpoint(out)));
        killer.setDaemon(true);
        killer.start();
        SweepOutcome r = Sweeps.run(plan, options(), new SweepListener() {});
        killer.join(10_000);
        String diag = r.cells() + "\n" + logs(dir);
        assertEquals(2, r.count(CellResult.Status.FINISHED), diag);
        assertEquals(2, r.count(CellResult.Status.FAILED), diag);
        assertTrue(killed.get() != null, "found no executor training a cell with a checkpoint: " + diag);
        CellResult resumed = r.cell(killed.get().getFileName().toString());
        assertEquals(CellResult.Action.RESUMED, resumed.action(), diag);
        assertTrue(resumed.resumedFromStep() >= 50, resumed.toString());
        long me = ProcessHandle.current().pid();
        for (CellResult c : r.cells()) {
            assertFalse(c.where().contains(" pid " + me + " "), "ran in the driver, not an executor: " + c.where());
            if (c.failed()) {
                assertTrue(c.message().contains("batch_size") && c.message().contains("must be >= 1"), c.message());
                assertEquals("0", plan.cells().get(c.index()).value("training.batch_size"), c.name());
                assertEquals(CellResult.Action.TRAINED, c.action(), c.toString());
            } else {
                assertEqualsSerial(out.resolve(c.name()), dir.resolve("serial").resolve(c.name()));
            }
        }
        List<String> csv = Files.readAllLines(r.resultsCsv());
        assertEquals(2, csv.stream().filter(l -> l.contains(",failed,")).count(), String.join("\n", csv));
        assertEquals(1, csv.stream().filter(l -> l.contains(",finished,resumed,")).count(), String.join("\n", csv));
    }

    /**
     * One data-parallel run as a barrier stage over the cluster's two executor JVMs (one rank each, meeting at the
     * address rank 0's task published through the barrier context): it trains as one process on the whole batch.
     */
    @Test
    @Timeout(300)
    void aDataParallelRunAsABarrierStageOverTwoExecutors() throws Exception {
        Path out = dir.resolve("data-parallel");
        RunConfig two = SparkTrainTest.config(out, "training.world_size=2");
        List<String> notices = new ArrayList<>();
        String line = new SparkTrainLaunch().train(TrainRequest.of(two, null, false, Duration.ofSeconds(60)), master,
                options().sparkConf(), notices::add);
        assertTrue(line.contains("on 2 ranks"), line + "\n" + notices);
        SparkTrainTest.assertTrainsAsOneProcess(dir.resolve("data-parallel-reference"), out);
    }

    /**
     * kill -9 of one rank's executor JVM while a data-parallel run trains on the cluster: the stage fails at once (the
     * other rank's collective fails when the connection drops), the run ends naming the lost rank, and a resume from
     * its last checkpoint (here on {@code local[2]}) ends bit-identical to an uninterrupted run of the same ranks.
     */
    @Test
    @Timeout(300)
    void aKilledRankEndsTheRunWhichResumesToTheUninterruptedLosses() throws Exception {
        Path out = dir.resolve("data-parallel-killed");
        String[] longer = {"training.world_size=2", "training.steps=600", "training.save_every=50",
            "training.log_every=100"};
        RunConfig two = SparkTrainTest.config(out, longer);
        AtomicReference<Path> killed = new AtomicReference<>();
        Thread killer = new Thread(() -> killed.set(killTheExecutorOfARunWithACheckpoint(out)));
        killer.setDaemon(true);
        killer.start();
        ClusterLaunch.RankFailure f = assertThrows(ClusterLaunch.RankFailure.class, () -> new SparkTrainLaunch()
                .train(TrainRequest.of(two, null, false, Duration.ofSeconds(60)), master, options().sparkConf(),
                        m -> { }));
        killer.join(10_000);
        assertTrue(killed.get() != null, "found no executor training the run after its first checkpoint: " + f);
        assertTrue(f.rank() == 0 || f.rank() == 1, f.getMessage() + "\n---\n" + f.getCause().getMessage());
        assertTrue(f.getMessage().startsWith("rank " + f.rank() + " failed"), f.getMessage());
        new SparkTrainLaunch().train(TrainRequest.of(two, out, false, Duration.ofSeconds(60)), "local[2]", Map.of(),
                m -> { });
        Path whole = dir.resolve("data-parallel-uninterrupted");
        new SparkTrainLaunch().train(TrainRequest.of(SparkTrainTest.config(whole, longer), null, false,
                Duration.ofSeconds(60)), "local[2]", Map.of(), m -> { });
        assertEquals(SparkSweepTest.losses(whole), SparkSweepTest.losses(out));
    }

    /** Kills one of the cluster's two executor JVMs (each runs one rank) once the run's step-50 checkpoint exists. */
    private static Path killTheExecutorOfARunWithACheckpoint(Path out) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        try {
            while (System.nanoTime() < deadline) {
                if (Files.isDirectory(out.resolve("checkpoints/step-00000050"))) {
                    List<ProcessHandle> executors = CLUSTER.get(1).children().toList();
                    if (!executors.isEmpty()) {
                        executors.get(0).destroyForcibly();
                        return out;
                    }
                }
                Thread.sleep(20);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return null;
    }

    /**
     * Kills (kill -9) the executor JVM that is training a cell which has written a checkpoint, and returns that cell's
     * directory (null if none was found in time). The executor training a cell is the one holding the cell's
     * metrics.jsonl open; the Worker's only children are its executor JVMs.
     */
    private static Path killTheExecutorOfACellWithACheckpoint(Path out) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        try {
            while (System.nanoTime() < deadline) {
                for (ProcessHandle e : CLUSTER.get(1).children().toList()) {
                    Path fds = Path.of("/proc", Long.toString(e.pid()), "fd");
                    try (DirectoryStream<Path> s = Files.newDirectoryStream(fds)) {
                        for (Path fd : s) {
                            Path target;
                            try {
                                target = Files.readSymbolicLink(fd);
                            } catch (IOException gone) {
                                continue;
                            }
                            if (target.startsWith(out) && target.getFileName().toString().equals("metrics.jsonl")
                                    && Files.isDirectory(target.getParent().resolve("checkpoints/step-00000050"))) {
                                e.destroyForcibly();
                                return target.getParent();
                            }
                        }
                    } catch (IOException gone) {
                        // the process ended meanwhile
                    }
                }
                Thread.sleep(20);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return null;
    }

    /** Trains the cell's saved config serially elsewhere; its losses must equal the cell's bit for bit. */
    private static void assertEqualsSerial(Path cellDir, Path serialDir) throws IOException {
        RunConfig saved = ConfigLoader.fromYaml(RunConfig.class, Files.readString(cellDir.resolve("config.yaml")));
        try (PointerScope scope = new PointerScope()) {
            new Trainer().train(ConfigLoader.withOverrides(saved, List.of("out_dir=" + serialDir)), null);
        }
        assertEquals(SparkSweepTest.losses(serialDir), SparkSweepTest.losses(cellDir), cellDir.toString());
    }

    private static Process start(Path log, Path sparkHome, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ProcessHandle.current().info().arguments().map(a -> Stream.of(a)
                .filter(x -> x.startsWith("--add-opens") || x.startsWith("-Dio.netty") || x.startsWith("-Djdk.reflect"))
                .toList()).orElse(List.of()));
        cmd.add("-Xmx256m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        return pb.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * The cluster's logs for a failure message: the last lines of the Master's and the Worker's, and of the stderr of
     * the executors that ran, with how many there were (a Master ends an application whose executors keep failing).
     */
    private static String logs(Path dir) throws IOException {
        StringBuilder s = new StringBuilder();
        try (Stream<Path> files = Files.walk(dir)) {
            List<Path> all = files.filter(f -> f.toString().endsWith(".log")
                    || f.getFileName().toString().equals("stderr")).sorted().toList();
            List<Path> executors = all.stream().filter(f -> f.getFileName().toString().equals("stderr")).toList();
            s.append("==== ").append(executors.size()).append(" executor stderr file(s) under ").append(dir)
                    .append('\n');
            List<Path> shown = new ArrayList<>(all.stream().filter(f -> f.toString().endsWith(".log")).toList());
            shown.addAll(executors.subList(Math.max(0, executors.size() - 4), executors.size()));
            for (Path p : shown) {
                List<String> lines = Files.readAllLines(p, java.nio.charset.StandardCharsets.ISO_8859_1);
                s.append("==== ").append(p).append('\n');
                lines.subList(Math.max(0, lines.size() - 30), lines.size()).forEach(l -> s.append(l).append('\n'));
            }
        }
        return s.toString();
    }
}
