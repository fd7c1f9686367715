package dev.incontext.sweep.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.ops.Blas;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user reads when a CLI command starts, in a JVM of its own on the CLI's class path (this module's, which
 * carries Spark's Log4j): no JavaCPP version-mismatch warning, and one line about the config instead of all of it.
 */
class CliStartTest {
    @Test
    void trainPrintsOneConfigLineAndNoVersionWarning(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xss8m", "-D" + Blas.PROPERTY + "=" + (Blas.isMkl() ? "mkl" : "openblas"), "-cp",
                System.getProperty("java.class.path"), "dev.incontext.cli.Main", "train", "--config", "demo"));
        cmd.addAll(SparkSweepTest.TINY);
        cmd.addAll(List.of("training.steps=2", "out_dir=" + out));
        Path log = dir.resolve("out.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "train did not finish");
        String text = Files.readString(log);
        assertEquals(0, p.exitValue(), text);
        assertFalse(text.contains("do not match"), text);
        assertTrue(text.contains("config: " + out.resolve("config.yaml") + " (regression run, 2 steps, seed 1234"),
                text);
        assertFalse(text.contains("# resolved config") || text.contains("n_embd:"), text);
    }

    /**
     * The demo config asks for OpenBLAS (training.blas): a train process that chose no BLAS runs it; one started
     * with -Dincontext.blas=mkl (INCONTEXT_BLAS=mkl through the launcher) runs MKL and says why the config lost.
     */
    @Test
    void aConfigsBlasChoiceAppliesUnlessTheProcessChoseOne(@TempDir Path dir) throws Exception {
        String own = train(dir.resolve("own"), List.of());
        assertTrue(own.contains("matrix products on OpenBLAS (training.blas: openblas)"), own);
        if (Blas.mklAvailable()) {
            String forced = train(dir.resolve("forced"), List.of("-D" + Blas.PROPERTY + "=mkl"));
            assertTrue(forced.contains("matrix products on MKL (training.blas: openblas)"), forced);
            assertTrue(forced.contains("training.blas is openblas, but this process runs libtorch's matrix products "
                    + "on MKL (chosen by -Dincontext.blas or INCONTEXT_BLAS"), forced);
        }
    }

    private static String train(Path out, List<String> jvmOptions) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xss8m"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.incontext.cli.Main", "train", "--config",
                "demo"));
        cmd.addAll(SparkSweepTest.TINY);
        cmd.addAll(List.of("training.steps=2", "training.threads=0", "training.blas_threads=0", "out_dir=" + out));
        Path log = out.resolveSibling(out.getFileName() + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        Process p = pb.start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "train did not finish");
        String text = Files.readString(log);
        assertEquals(0, p.exitValue(), text);
        return text;
    }
}
