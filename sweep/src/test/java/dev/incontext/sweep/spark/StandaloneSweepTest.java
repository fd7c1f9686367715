package dev.incontext.sweep.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.sweep.CellResult;
import dev.incontext.sweep.SweepListener;
import dev.incontext.sweep.SweepOptions;
import dev.incontext.sweep.SweepOutcome;
import dev.incontext.sweep.SweepPlan;
import dev.incontext.sweep.Sweeps;
import dev.incontext.train.Trainer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The grid on a standalone Spark cluster started by the test on 127.0.0.1 from the Maven class path (a Master and a
 * Worker JVM, no Spark distribution): the Worker starts two executor JVMs, which run the cells. Two cells get a bad
 * value (training.batch_size=0) and are reported failed at once; the other two finish, bit-identical to serial runs.
 */
class StandaloneSweepTest {
    @Test
    @Timeout(300)
    void gridOnLoopbackStandaloneClusterWithFailingCells(@TempDir Path dir) throws Exception {
        int masterPort = freePort();
        Path sparkHome = dir.resolve("spark-home");
        // The Worker builds executor command lines from SPARK_HOME; an empty jars/ folder is all it needs when the
        // executors' class path comes from spark.executor.extraClassPath.
        Files.createDirectories(sparkHome.resolve("jars"));
        Path work = Files.createDirectories(dir.resolve("work"));
        List<Process> procs = new ArrayList<>();
        try {
            procs.add(start(dir.resolve("master.log"), sparkHome, "org.apache.spark.deploy.master.Master",
                    "--host", "127.0.0.1", "--port", Integer.toString(masterPort), "--webui-port",
                    Integer.toString(freePort())));
            procs.add(start(dir.resolve("worker.log"), sparkHome, "org.apache.spark.deploy.worker.Worker",
                    "--host", "127.0.0.1", "--cores", "2", "--memory", "2g", "--work-dir", work.toString(),
                    "--webui-port", Integer.toString(freePort()), "spark://127.0.0.1:" + masterPort));

            Path out = dir.resolve("sweep");
            SweepPlan plan = SweepPlan.of(SparkSweepTest.grid(out, "training.learning_rate=0.001,0.003",
                    "training.batch_size=16,0"));
            SweepOptions options = new SweepOptions("spark://127.0.0.1:" + masterPort, false, false, 0, Map.of(
                    "spark.ui.enabled", "false", "spark.executor.cores", "1", "spark.cores.max", "2",
                    "spark.executor.memory", "512m", "spark.driver.host", "127.0.0.1",
                    "spark.driver.bindAddress", "127.0.0.1"));
            SweepOutcome r = Sweeps.run(plan, options, new SweepListener() {});
            String diag = r.cells() + "\n" + logs(dir);
            assertEquals(2, r.count(CellResult.Status.FINISHED), diag);
            assertEquals(2, r.count(CellResult.Status.FAILED), diag);
            long me = ProcessHandle.current().pid();
            for (CellResult c : r.cells()) {
                assertFalse(c.where().contains(" pid " + me + " "), "ran in the driver, not an executor: " + c.where());
                if (c.failed()) {
                    assertTrue(c.message().contains("batch_size") && c.message().contains("must be >= 1"), c.message());
                    assertTrue(plan.cells().get(c.index()).value("training.batch_size").equals("0"), c.name());
                } else {
                    Path cellDir = out.resolve(c.name());
                    RunConfig saved = ConfigLoader.fromYaml(Files.readString(cellDir.resolve("config.yaml")));
                    Path serialDir = dir.resolve("serial").resolve(c.name());
                    try (PointerScope scope = new PointerScope()) {
                        new Trainer().train(ConfigLoader.withOverrides(saved, List.of("out_dir=" + serialDir)), null);
                    }
                    assertEquals(SparkSweepTest.losses(serialDir), SparkSweepTest.losses(cellDir), c.name());
                }
            }
            List<String> csv = Files.readAllLines(r.resultsCsv());
            assertEquals(2, csv.stream().filter(l -> l.contains(",failed,")).count(), String.join("\n", csv));
        } finally {
            for (Process p : procs) {
                p.destroy();
            }
            for (Process p : procs) {
                if (!p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
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

    /** The cluster's logs (master, worker, executors' stderr), for a failure message. */
    private static String logs(Path dir) throws IOException {
        StringBuilder s = new StringBuilder();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".log") || f.getFileName().toString().equals("stderr"))
                    .toList()) {
                List<String> lines = Files.readAllLines(p);
                s.append("==== ").append(p).append('\n');
                lines.subList(Math.max(0, lines.size() - 30), lines.size()).forEach(l -> s.append(l).append('\n'));
            }
        }
        return s.toString();
    }
}
