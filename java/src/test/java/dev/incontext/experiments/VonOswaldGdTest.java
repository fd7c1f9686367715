package dev.incontext.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.cli.Main;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.model.LsaModel;
import dev.incontext.model.Models;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.testing.NativeScope;
import dev.incontext.util.Devices;
import dev.incontext.util.Tensors;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** von-oswald-gd's mechanics at tiny sizes, and its paper preset starting on the CPU. */
@ExtendWith(NativeScope.class)
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
        String summary = Files.readString(r.summary());
        assertTrue(summary.contains("| K layers are K steps of GD |") && summary.contains("| verdict |"), summary);
        assertTrue(rows.get(0).endsWith(",gd_error_se") && Double.parseDouble(last[5]) > 0, rows.toString());
    }

    /** The verdicts follow the criteria fixed in code, both ways, on constructed measurements. */
    @Test
    void claimsAreJudgedByTheirCriteria() {
        RunConfig c = ConfigLoader.load(RunConfig.class, "von_oswald_gd", List.of());
        double closed = VonOswaldGd.optimalStepError(c);
        assertEquals((10 - 0.2) / (10 + 10 - 0.2), closed, 1e-12);
        var start = new VonOswaldGd.Point(0, 0.5, 0.7, 1.0, closed, 0.01);
        List<Claim> good = VonOswaldGd.claims(c, new double[] {4e-15, 2e-13, 5e-15}, List.of(start,
                new VonOswaldGd.Point(4000, 3e-4, 0.9997, closed + 0.001, closed + 0.015, 0.01)));
        assertTrue(good.stream().allMatch(x -> x.verdict() == Claim.Verdict.AGREE), good.toString());
        List<Claim> bad = VonOswaldGd.claims(c, new double[] {1e-6, 2e-13, 5e-15}, List.of(start,
                new VonOswaldGd.Point(4000, 3e-3, 0.9997, closed, closed + 0.03, 0.01)));
        assertEquals(List.of(Claim.Verdict.DISAGREE, Claim.Verdict.AGREE, Claim.Verdict.DISAGREE,
                Claim.Verdict.DISAGREE), bad.stream().map(Claim::verdict).toList());
        // The interval is 99%: 2.5 standard errors from the closed form agrees, 2.6 does not.
        assertEquals(Claim.Verdict.AGREE, VonOswaldGd.claims(c, new double[3], List.of(start,
                new VonOswaldGd.Point(4000, 0, 1, closed, closed - 0.025, 0.01))).get(3).verdict());
        assertEquals(Claim.Verdict.DISAGREE, VonOswaldGd.claims(c, new double[3], List.of(start,
                new VonOswaldGd.Point(4000, 0, 1, closed, closed + 0.026, 0.01))).get(3).verdict());
    }

    @Test
    void optimalStepFollowsTheInputDistribution() {
        var gauss = ConfigLoader.load(RunConfig.class, "von_oswald_gd", List.of("task.x_distribution=isotropic", "task.x_scale=1"))
                .task();
        assertEquals(10.0 / 21, VonOswaldGd.optimalStep(gauss, 10), 1e-12);
        var uniform = ConfigLoader.load(RunConfig.class, "von_oswald_gd", List.of()).task();
        assertEquals(3 / (1 + 9.8 / 10), VonOswaldGd.optimalStep(uniform, 10), 1e-9);
    }

    /**
     * The comparison runs eval.batch_size prompts at a time: the same predictions and sensitivities as one pass over
     * all prompts, with a last chunk shorter than the others.
     */
    @Test
    void chunkedComparisonEqualsOnePass() {
        RunConfig c = ConfigLoader.load(RunConfig.class, "von_oswald_gd", List.of());
        int d = c.task().nDims();
        int n = c.evalPoints() - 1;
        TensorOptions o = Devices.float32(c.device());
        TaskSampler s = new TaskSampler(c.task(), 3, o);
        PromptBatch b = s.sample(250, n + 1, d, s.generator(5));
        Tensor queries = s.inputs().sample(250, n + 1, d, s.generator(6), o);
        LsaModel model = (LsaModel) Models.create(c, o);
        Tensor[] whole = VonOswaldGd.predictionAndSensitivity(model, b, queries, n, 250);
        Tensor[] chunked = VonOswaldGd.predictionAndSensitivity(model, b, queries, n, 64);
        assertEquals(250, chunked[0].size(0));
        assertEquals(d, chunked[1].size(1));
        for (int i = 0; i < 2; i++) {
            double scale = Tensors.toDoubleArray(whole[i].abs().max())[0];
            assertTrue(Tensors.maxAbsDiff(whole[i], chunked[i]) <= 1e-6 * scale, i + ": "
                    + Tensors.maxAbsDiff(whole[i], chunked[i]) + " of " + scale);
        }
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
