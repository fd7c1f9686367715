package dev.incontext.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Evaluator;
import dev.incontext.eval.Metric;
import dev.incontext.eval.Setting;
import dev.incontext.eval.baselines.Averaging;
import dev.incontext.eval.baselines.LeastSquares;
import dev.incontext.eval.baselines.NearestNeighbours;
import dev.incontext.testing.NativeScope;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(NativeScope.class)
class NpyExportTest {
    @TempDir
    Path tmp;

    /**
     * The real evaluator on the demo task (d = 5, 11 points), 40 prompts in uneven batches of 16, in float32 as a
     * model would run: every mean of eval.csv is recomputed from the exported targets and predictions. The
     * orthogonal query has separate queries and labels and scores only k &lt; d; the standard setting neither.
     */
    @Test
    void everyMeanOfEvalCsvFollowsFromTheExportedArrays() throws Exception {
        TaskConfig task = ConfigLoader.load(RunConfig.class, "demo", List.of()).task();
        TensorOptions f32 = new TensorOptions(torch.ScalarType.Float);
        for (Setting setting : List.of(new Setting.Standard(), new Setting.OrthogonalQuery())) {
            Evaluator.Result r = Evaluator.evaluate(
                    List.of(new LeastSquares(0), new Averaging(), new NearestNeighbours(3, false)), task, 11, 11,
                    setting, new Evaluator.Request(40, 16, 7, f32, true), Evaluator.Listener.NONE);
            Evaluation e = r.evaluation();
            Evaluator.Captured c = r.captured();
            Path dir = tmp.resolve(setting.id());
            Path manifestFile = NpyExport.write(dir, c, e, Map.of("Least squares", "least_squares", "3-NN", "knn:3"));
            Map<String, Object> m = MiniJson.object(Files.readString(manifestFile));
            boolean separate = setting instanceof Setting.OrthogonalQuery;
            int scored = separate ? 5 : 11;
            assertEquals(scored, e.points());
            assertEquals(scored, ((Number) m.get("scored_positions")).intValue());
            assertEquals(e.normaliser(), ((Number) m.get("normaliser")).doubleValue(), 0.0);
            assertTrue(((String) m.get("convention")).contains(NpyExport.CONVENTION));
            assertEquals(e.metric().formula(), ((Map<?, ?>) m.get("metric")).get("formula"));

            NpyFile xs = NpyFile.read(dir.resolve("xs.npy"));
            assertArrayEquals(new long[] {40, 11, 5}, xs.shape());
            assertArrayEquals(c.xs(), xs.data());
            NpyFile ys = NpyFile.read(dir.resolve("ys.npy"));
            assertArrayEquals(new long[] {40, 11}, ys.shape());
            assertArrayEquals(c.ys(), ys.data());
            assertEquals(separate, Files.exists(dir.resolve("targets.npy")));
            assertEquals(separate, Files.exists(dir.resolve("queries.npy")));
            Map<?, ?> arrays = (Map<?, ?>) m.get("arrays");
            String targetsFile = (String) ((Map<?, ?>) arrays.get("targets")).get("file");
            assertEquals(separate ? "targets.npy" : "ys.npy", targetsFile);
            if (separate) {
                NpyFile q = NpyFile.read(dir.resolve("queries.npy"));
                assertArrayEquals(new long[] {40, 11, 5}, q.shape());
                assertArrayEquals(c.queries(), q.data());
            } else {
                assertNull(arrays.get("queries"));
            }
            double[] targets = NpyFile.read(dir.resolve(targetsFile)).data();
            assertArrayEquals(c.targets(), targets);

            Map<String, double[]> csvMeans = readMeans(dir.resolve("eval.csv"));
            List<?> predictors = (List<?>) m.get("predictors");
            assertEquals(3, predictors.size());
            Map<String, String> settings = new HashMap<>();
            for (Object o : predictors) {
                Map<?, ?> p = (Map<?, ?>) o;
                String name = (String) p.get("name");
                settings.put(name, (String) p.get("settings"));
                NpyFile pred = NpyFile.read(dir.resolve((String) p.get("file")));
                assertArrayEquals(new long[] {40, 11}, pred.shape());
                double[] mean = new double[scored];
                for (int k = 0; k < scored; k++) {
                    for (int b = 0; b < 40; b++) {
                        double diff = pred.data()[b * 11 + k] - targets[b * 11 + k];
                        mean[k] += diff * diff / e.normaliser();
                    }
                    mean[k] /= 40;
                }
                double[] fromCsv = csvMeans.get(name);
                assertNotNull(fromCsv, name + " in eval.csv");
                assertEquals(scored, fromCsv.length, name + ": rows of eval.csv");
                for (int k = 0; k < scored; k++) {
                    assertEquals(fromCsv[k], mean[k], 1e-7 * Math.abs(fromCsv[k]) + 1e-300,
                            setting.id() + ", " + name + ", k = " + k);
                    assertEquals(e.curve(name).mean()[k], mean[k], 1e-12 * Math.abs(mean[k]) + 1e-300);
                }
            }
            assertEquals(Map.of("Least squares", "least_squares", "3-NN", "knn:3", "Averaging", ""), settings);
            assertEquals(1.0, ((Number) ((Map<?, ?>) m.get("metric")).get("trivial")).doubleValue());
        }
    }

    private static Map<String, double[]> readMeans(Path csv) throws Exception {
        List<String> lines = Files.readAllLines(csv);
        assertEquals("predictor,k,mean,ci_low,ci_high", lines.get(0));
        Map<String, List<Double>> m = new LinkedHashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",");
            List<Double> l = m.computeIfAbsent(f[0], x -> new java.util.ArrayList<>());
            assertEquals(l.size(), Integer.parseInt(f[1]), "k runs 0, 1, ... in " + line);
            l.add(Double.parseDouble(f[2]));
        }
        Map<String, double[]> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, v.stream().mapToDouble(Double::doubleValue).toArray()));
        return out;
    }

    /** Names that slug alike get distinct files; the manifest maps each name to its own. */
    @Test
    void predictorFilesAreUniqueSlugs() throws Exception {
        Map<String, double[]> preds = new LinkedHashMap<>();
        String[] names = {"Least squares", "least-squares", "3-NN (distance)", "\u00e9", "Ridge (lambda=0.1)"};
        for (int i = 0; i < names.length; i++) {
            preds.put(names[i], new double[] {i, i + 0.5, -i, 1, 2, 3});
        }
        Evaluator.Captured c = new Evaluator.Captured(2, 3, 1, new double[] {1, 2, 3, 4, 5, 6},
                new double[] {1, -1, 1, -1, 1, 1}, new double[] {1, -1, 1, -1, 1, 1}, null, preds);
        List<Evaluation.Curve> curves = new java.util.ArrayList<>();
        for (String n : names) {
            curves.add(new Evaluation.Curve(n, new double[] {0.5, 0.5, 0.5}, new double[3], new double[3]));
        }
        Evaluation e = new Evaluation("tiny", "by hand", new Metric.Accuracy(), 1.0, 2, curves);
        Map<String, Object> m = MiniJson.object(Files.readString(NpyExport.write(tmp, c, e, Map.of())));
        List<String> files = ((List<?>) m.get("predictors")).stream().map(o -> (String) ((Map<?, ?>) o).get("file"))
                .toList();
        assertEquals(List.of("pred_least_squares.npy", "pred_least_squares_2.npy", "pred_3_nn_distance.npy",
                "pred_predictor.npy", "pred_ridge_lambda_0_1.npy"), files);
        for (int i = 0; i < names.length; i++) {
            assertArrayEquals(preds.get(names[i]), NpyFile.read(tmp.resolve(files.get(i))).data(), names[i]);
        }
        assertFalse(Files.exists(tmp.resolve("targets.npy")), "targets equal to ys are not written twice");
        assertTrue(((String) m.get("score")).contains("sign"), "accuracy's score is stated: " + m.get("score"));
    }

    @Test
    void mismatchedCapturesAreRefusedNamingWhatIsWrong() {
        Evaluation e = new Evaluation("tiny", "by hand", new Metric.SquaredError(), 1.0, 2,
                List.of(new Evaluation.Curve("A", new double[3], new double[3], new double[3])));
        var noCapture = assertThrows(IllegalArgumentException.class, () -> NpyExport.write(tmp, null, e, Map.of()));
        assertTrue(noCapture.getMessage().contains("capture"), noCapture.getMessage());
        Evaluator.Captured shortXs = new Evaluator.Captured(2, 3, 2, new double[5], new double[6], new double[6], null,
                Map.of("A", new double[6]));
        var xs = assertThrows(IllegalArgumentException.class, () -> NpyExport.write(tmp, shortXs, e, Map.of()));
        assertTrue(xs.getMessage().contains("xs has 5 values, expected B * n * d = 12"), xs.getMessage());
        Evaluator.Captured missing = new Evaluator.Captured(2, 3, 1, new double[6], new double[6], new double[6], null,
                Map.of("B", new double[6]));
        var pred = assertThrows(IllegalArgumentException.class, () -> NpyExport.write(tmp, missing, e, Map.of()));
        assertTrue(pred.getMessage().contains("no captured predictions of A"), pred.getMessage());
    }
}
