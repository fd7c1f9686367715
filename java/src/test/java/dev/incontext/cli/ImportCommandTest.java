package dev.incontext.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code incontext import} and {@code export-torch} end to end on the reference checkpoints of the interop test
 * resources: an imported Garg model through {@code eval --suite garg}, an imported He model through
 * {@code attention-map}, exports, and the errors.
 */
class ImportCommandTest {
    /** The fixtures, from the test class path (Maven copies src/test/resources there). */
    static final Path RES;

    static {
        try {
            RES = Path.of(ImportCommandTest.class.getResource("/dev/incontext/interop/garg/state.pt").toURI()).getParent()
                    .getParent();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = Main.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new String[] {Integer.toString(rc), out.toString(), err.toString()};
    }

    private static String ok(String... args) {
        String[] r = run(args);
        assertEquals("0", r[0], r[1] + "\n" + r[2]);
        return r[1];
    }

    @Test
    void importedGargCheckpointRunsTheGargSuite(@TempDir Path dir) {
        Path runDir = dir.resolve("garg");
        String imported = ok("import", "--from", "garg", RES.resolve("garg/state.pt").toString(), "--out",
                runDir.toString(), "model.n_head=2");
        assertTrue(imported.contains("imported "), imported);
        assertTrue(imported.contains("curriculum.points.end is 11"), imported);
        String eval = ok("eval", "--checkpoint", runDir.toString(), "--suite", "garg", "eval.num_prompts=32",
                "eval.batch_size=32");
        assertTrue(eval.contains("report: "), eval);
        assertTrue(Files.exists(runDir.resolve("eval-garg/skewed/eval.csv")), eval);
        Path file = dir.resolve("out.pt");
        String exported = ok("export-torch", "--checkpoint", runDir.toString(), "--to", "garg", "--vocab-size", "1",
                file.toString());
        assertTrue(exported.contains("wrote 32 tensors"), exported);
        // A regression run is not He's decoder, and an existing run is not overwritten.
        String[] wrong = run("export-torch", "--checkpoint", runDir.toString(), "--to", "he", file.toString());
        assertEquals("1", wrong[0]);
        assertTrue(wrong[2].contains("not a token"), wrong[2]);
        String[] again = run("import", "--from", "garg", RES.resolve("garg/state.pt").toString(), "--out",
                runDir.toString(), "model.n_head=2");
        assertEquals("1", again[0]);
        assertTrue(again[2].contains("already holds a run"), again[2]);
    }

    @Test
    void importedHeCheckpointDrawsAttentionMaps(@TempDir Path dir) {
        Path runDir = dir.resolve("he");
        ok("import", "--from", "he", RES.resolve("he/model.pt").toString(), "--out", runDir.toString());
        Path png = dir.resolve("att.png");
        ok("attention-map", "--checkpoint", runDir.resolve("checkpoints/step-00000000").toString(), "--layer", "1",
                "--head", "1", "-o", png.toString());
        assertTrue(Files.exists(png));
        String[] bad = run("import", "--from", "gpt", RES.resolve("he/model.pt").toString(), "--out",
                dir.resolve("x").toString());
        assertEquals("1", bad[0]);
        assertTrue(bad[2].contains("known: garg, he"), bad[2]);
    }
}
