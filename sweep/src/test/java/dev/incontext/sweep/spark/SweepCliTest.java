package dev.incontext.sweep.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `incontext sweep` with the Spark module on the class path (as ./incontext runs it): embedded local[2]. */
class SweepCliTest {
    @Test
    void sweepCommandRunsOnEmbeddedSparkAndReportsProgress(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sweep.yaml");
        Files.writeString(file, """
                base: demo
                overrides: {model.preset: custom, model.n_layer: 1, model.n_head: 2, model.n_embd: 16,
                            training.steps: 6, training.save_every: 3, training.batch_size: 8, eval.num_prompts: 16}
                axes:
                  training.learning_rate: [0.001, -1]
                seeds: 1
                out_dir: %s
                """.formatted(dir.resolve("out")));
        List<String> args = new ArrayList<>(List.of("sweep", "--config", file.toString(), "--master", "local[2]",
                "--conf", "spark.ui.enabled=false"));
        StringWriter out = new StringWriter();
        int rc = Main.execute(new PrintWriter(out), new PrintWriter(new StringWriter()), args.toArray(String[]::new));
        String text = out.toString();
        assertEquals(1, rc, "a failed cell makes the command fail:\n" + text);
        assertTrue(text.contains("native libraries ready in"), text);
        assertTrue(text.contains("sweep: 2 cells, up to 2 at once"), text);
        assertTrue(text.contains("FAILED: invalid config: training.learning_rate: must be a positive number"), text);
        assertTrue(text.contains("sweep: 1 finished, 1 failed, 0 not finished"), text);
        assertTrue(Files.readString(dir.resolve("out/results.csv")).contains("learning_rate=0.001__seed=0,0.001,0,finished"));

        // Re-run: nothing to do; the failed cell is reported as failed before, and --retry would rerun it.
        StringWriter again = new StringWriter();
        assertEquals(1, Main.execute(new PrintWriter(again), null, args.toArray(String[]::new)));
        assertTrue(again.toString().contains("already finished") && again.toString().contains("failed before (--retry"),
                again.toString());
    }

    /** `incontext train --nproc 2 --master local[2]`: the ranks as a barrier stage, and a refused master. */
    @Test
    void trainCommandRunsItsRanksAsABarrierStage(@TempDir Path dir) throws Exception {
        List<String> args = new ArrayList<>(List.of("train", "--config", "demo", "--nproc", "2", "--master",
                "local[2]"));
        args.addAll(SparkSweepTest.TINY);
        args.add("out_dir=" + dir.resolve("run"));
        StringWriter out = new StringWriter();
        int rc = Main.execute(new PrintWriter(out), new PrintWriter(new StringWriter()), args.toArray(String[]::new));
        String text = out.toString();
        assertEquals(0, rc, text);
        assertTrue(text.contains("one barrier stage of 2 ranks (Gloo)"), text);
        assertTrue(text.contains("on 2 ranks; run directory " + dir.resolve("run").toAbsolutePath()), text);
        assertTrue(Files.isDirectory(dir.resolve("run/checkpoints/step-00000008")), text);

        args.set(args.indexOf("local[2]"), "local[1]");
        StringWriter err = new StringWriter();
        assertEquals(1, Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err),
                args.toArray(String[]::new)));
        assertTrue(err.toString().contains("needs 2 at once (e.g. local[2])"), err.toString());
    }
}
