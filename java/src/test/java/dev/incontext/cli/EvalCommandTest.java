package dev.incontext.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code incontext eval --suite garg} end to end on a tiny trained model: every setting, cache, export, errors. */
class EvalCommandTest {
    private static final List<String> GARG = List.of("standard", "skewed", "half_subspace", "orthants",
            "orthogonal_query", "overlapping_query", "scale_x_0.333", "scale_x_0.5", "scale_x_2", "scale_x_3",
            "scale_y_0.333", "scale_y_0.5", "scale_y_2", "scale_y_3", "noisy_1");

    private static String run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = Main.execute(new PrintWriter(out), new PrintWriter(err), args);
        assertEquals(0, rc, out + "\n" + err);
        return out.toString();
    }

    @Test
    void gargSuiteWritesEverySettingAndCaches(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("run");
        run("train", "--config", "demo", "training.steps=2", "model.preset=custom", "model.n_layer=1",
                "model.n_head=1", "model.n_embd=8", "training.batch_size=4", "training.save_every=2",
                "out_dir=" + runDir);
        Path out = dir.resolve("eval");
        String first = run("eval", "--checkpoint", runDir.toString(), "--suite", "garg", "--out", out.toString(),
                "eval.num_prompts=64", "eval.batch_size=32");
        for (String s : GARG) {
            assertTrue(Files.exists(out.resolve(s).resolve("eval.csv")), s + " missing:\n" + first);
            assertTrue(first.contains(s + ": "), s + " table missing");
        }
        // 4 predictors (model, least squares, averaging, 3-NN) per setting, and Bayes ridge in the noisy one.
        int curves = GARG.size() * 4 + 1;
        assertTrue(first.contains(curves + " curves computed, 0 from the cache"), first);
        String again = run("eval", "--checkpoint", runDir.toString(), "--suite", "garg", "--out", out.toString(),
                "eval.num_prompts=64", "eval.batch_size=32");
        assertTrue(again.contains("0 curves computed, " + curves + " from the cache"), again);
        // A changed setting of the evaluation misses the cache.
        // --export: one folder per setting with the .npy files and a manifest, and the HTML report parses.
        Path export = dir.resolve("export");
        String exported = run("eval", "--checkpoint", runDir.toString(), "--suite", "garg", "--out", out.toString(),
                "--export", export.toString(), "eval.num_prompts=16", "eval.batch_size=16");
        for (String s : GARG) {
            assertTrue(Files.exists(export.resolve(s).resolve("manifest.json")), s + ": " + exported);
            assertTrue(Files.exists(export.resolve(s).resolve("xs.npy")));
        }
        assertTrue(Files.exists(export.resolve("orthants/queries.npy")));
        DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(out.resolve("report.html")
                .toFile());
        String changed = run("eval", "--checkpoint", runDir.toString(), "--suite", "standard", "--out", out.toString(),
                "eval.num_prompts=32", "eval.batch_size=32");
        assertTrue(changed.contains("4 curves computed, 0 from the cache"), changed);
    }

    @Test
    void unknownSuiteOrBaselineIsRefusedBeforeWork(@TempDir Path dir) {
        StringWriter err = new StringWriter();
        assertEquals(1, Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), "eval", "--checkpoint",
                dir.toString(), "--suite", "nope"));
        assertTrue(err.toString().contains("unknown suite 'nope'") && err.toString().contains("garg"), err.toString());
        StringWriter err2 = new StringWriter();
        assertEquals(1, Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err2), "train", "--config",
                "demo", "eval.baselines=[ridge:-1]", "out_dir=" + dir));
        assertTrue(err2.toString().contains("ridge") && err2.toString().contains("LAMBDA"), err2.toString());
    }
}
