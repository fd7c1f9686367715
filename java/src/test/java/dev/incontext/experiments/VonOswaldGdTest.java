package dev.incontext.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.cli.Main;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** von-oswald-gd's mechanics at tiny sizes, and its paper preset starting on the CPU. */
class VonOswaldGdTest {
    @Test
    void tinyRunComparesAtEveryCheckpoint(@TempDir Path dir) throws Exception {
        ExperimentReport r = new VonOswaldGd().run(ExperimentContext.quiet(List.of("out_dir=" + dir,
                "training.steps=300", "training.save_every=100", "training.learning_rate=0.01",
                "eval.num_prompts=512")));
        assertTrue(r.targetsMet(), r.verdict());        // the construction equals GD to round-off
        List<String> rows = Files.readAllLines(dir.resolve("comparison.csv"));
        assertEquals(1 + 4, rows.size(), rows.toString());   // header, step 0, 100, 200, 300
        String[] first = rows.get(1).split(",");
        String[] last = rows.get(4).split(",");
        // Training moves the LSA towards one GD step: the prediction difference falls, the cosine rises.
        assertTrue(Double.parseDouble(last[1]) < Double.parseDouble(first[1]) / 10, rows.toString());
        assertTrue(Double.parseDouble(last[2]) > 0.95, rows.toString());
        assertTrue(Files.readString(r.summary()).contains("K layers are K steps of GD"));
    }

    @Test
    void optimalStepFollowsTheInputDistribution() {
        var gauss = ConfigLoader.load(RunConfig.class, "von_oswald_gd", List.of("task.x_distribution=isotropic", "task.x_scale=1"))
                .task();
        assertEquals(10.0 / 21, VonOswaldGd.optimalStep(gauss, 10), 1e-12);
        var uniform = ConfigLoader.load(RunConfig.class, "von_oswald_gd", List.of()).task();
        assertEquals(3 / (1 + 9.8 / 10), VonOswaldGd.optimalStep(uniform, 10), 1e-9);
    }

    @Test
    void paperPresetStartsOnTheCpu(@TempDir Path dir) {
        assertEquals(50000, ConfigLoader.load(RunConfig.class, "von_oswald_gd_paper", List.of()).training().steps());
        StringWriter out = new StringWriter();
        int rc = Main.execute(new PrintWriter(out), new PrintWriter(out), "experiment", "von-oswald-gd", "--preset",
                "paper", "training.steps=2", "training.save_every=1", "eval.num_prompts=64", "out_dir=" + dir);
        assertEquals(0, rc, out.toString());
        assertTrue(out.toString().contains("construction equals GD"), out.toString());
    }
}
