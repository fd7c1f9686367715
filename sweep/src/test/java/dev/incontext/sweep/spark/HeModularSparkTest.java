package dev.incontext.sweep.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.incontext.cli.Main;
import dev.incontext.util.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code incontext experiment he-modular --master local[2]}: the phase diagram's cells run as Spark tasks, side by
 * side, and train what the serial master trains (one thread per cell, so bit for bit).
 */
class HeModularSparkTest {
    private static final List<String> TINY = List.of("task.p=13", "task.alpha=0.6", "task.points_per_row=16",
            "training.steps=24", "training.warmup_steps=2", "training.threads=1", "training.blas_threads=1",
            "eval.every=6", "eval.rows=8", "eval.n_checkpoints=2", "model.n_embd=16", "model.n_head=2",
            "phase_diagram.n_tasks_pl=[1,3]", "phase_diagram.n_layer=[1]");

    private static String experiment(String master, Path out) {
        List<String> args = new ArrayList<>(List.of("experiment", "he-modular", "--config", "he_modular", "--master",
                master, "out_dir=" + out));
        args.addAll(TINY);
        StringWriter stdout = new StringWriter();
        StringWriter stderr = new StringWriter();
        int rc = Main.execute(new PrintWriter(stdout), new PrintWriter(stderr), args.toArray(String[]::new));
        assertEquals(0, rc, stdout + "\n" + stderr);
        return stdout.toString();
    }

    @Test
    void heModularGridRunsAsSparkTasksAndEqualsTheSerialRun(@TempDir Path dir) throws Exception {
        String ui = System.setProperty("spark.ui.enabled", "false");   // SparkConf reads spark.* properties
        String text;
        try {
            text = experiment("local[2]", dir.resolve("spark"));
        } finally {
            if (ui == null) {
                System.clearProperty("spark.ui.enabled");
            } else {
                System.setProperty("spark.ui.enabled", ui);
            }
        }
        assertTrue(text.contains("master local[2]: 2 cells"), text);
        List<String> rows = Files.readAllLines(dir.resolve("spark/cells/results.csv"));
        assertEquals(3, rows.size(), rows.toString());
        assertTrue(rows.get(1).startsWith("pl001-L1-a0.60,1,0.6,1,finished,trained,"), rows.get(1));
        assertTrue(rows.get(2).startsWith("pl003-L1-a0.60,1,0.6,3,finished,trained,"), rows.get(2));
        assertTrue(Files.exists(dir.resolve("spark/phase_diagram.png")));
        assertTrue(Files.exists(dir.resolve("spark/summary.md")));

        experiment("serial", dir.resolve("serial"));
        for (String cell : List.of("pl001-L1-a0.60", "pl003-L1-a0.60")) {
            Path s = dir.resolve("serial/cells").resolve(cell);
            Path p = dir.resolve("spark/cells").resolve(cell);
            assertEquals(Files.readAllLines(s.resolve("metrics.tsv")), Files.readAllLines(p.resolve("metrics.tsv")),
                    cell);
            assertEquals(withoutRate(s.resolve("result.json")), withoutRate(p.resolve("result.json")), cell);
        }
        assertEquals(Files.readString(dir.resolve("serial/phase_diagram.tsv")),
                Files.readString(dir.resolve("spark/phase_diagram.tsv")));
    }

    /** result.json without its steps/s, which differs run to run. */
    private static String withoutRate(Path result) throws Exception {
        ObjectNode r = (ObjectNode) Json.parse(Files.readString(result));
        r.remove("steps_per_s");
        return r.toString();
    }
}
