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
}
