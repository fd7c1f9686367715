package dev.incontext.report;

import dev.incontext.eval.Agreement;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Metric;
import dev.incontext.eval.Provenance;
import dev.incontext.eval.SuiteResult;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** Hand-made results shaped like the papers' curves, and XML helpers, for the report tests. */
final class ReportFixtures {
    private ReportFixtures() {}

    static final int D = 20;
    static final int N = 41;

    /** Curves shaped like the papers': the model and least squares fall to 0 by k = d, averaging explodes at k = 1. */
    static SuiteResult suite() {
        List<Evaluation> evals = new ArrayList<>();
        evals.add(regression("standard", "the training distribution", N));
        evals.add(regression("orthogonal_query", "query orthogonal to the earlier points (k < d only)", D));
        double[] acc = new double[N];
        double[] chance = new double[N];
        for (int k = 0; k < N; k++) {
            acc[k] = 0.5 + 0.45 * k / (N - 1.0);
            chance[k] = 0.5 + 0.01 * Math.sin(k);
        }
        evals.add(new Evaluation("classif <x> & \"y\"/..", "linear classification: a name with <markup> & slashes",
                new Metric.Accuracy(), 1.0, 64, List.of(curve("Transformer", acc, 0.03),
                        curve("Averaging", chance, 0.03))));
        List<SuiteResult.Skipped> skipped = List.of(
                new SuiteResult.Skipped("noisy_labels", "noisy_labels needs a dense linear regression model & <a> d"),
                new SuiteResult.Skipped("other_task:relu", "cannot be scored on other_task"));
        double[] spd = new double[N];
        double[] ilwd = new double[N];
        double[] spd2 = new double[N];
        for (int k = 0; k < N; k++) {
            spd[k] = Math.max(0, 0.3 * (D - k) / D) + 0.01;
            ilwd[k] = k == 3 ? Double.NaN : 2 * spd[k];
            spd2[k] = 1.0 + (D + 1.0) / Math.max(1, k);
        }
        List<Agreement> agreements = List.of(
                new Agreement("standard", "Transformer", "Least squares", spd, ilwd, 0.17),
                new Agreement("standard", "Transformer", "Averaging", spd2, spd2.clone(), 3.2));
        Provenance p = new Provenance("seed: 0\ntask:\n  name: linear_regression\n  n_dims: 20\nnote: \"a < b & c\"\n",
                "runs/demo/checkpoint_5000", "ab12" + "0".repeat(60), "446f8e3", "0.1.0-SNAPSHOT", "cpu",
                "Intel(R) Xeon(R) <test>", "2026-12-01T01:00:00Z");
        return new SuiteResult("garg-shifts", evals, skipped, agreements, p);
    }

    static Evaluation regression(String id, String description, int points) {
        double[] model = new double[points];
        double[] ls = new double[points];
        double[] avg = new double[points];
        double[] knn = new double[points];
        for (int k = 0; k < points; k++) {
            ls[k] = k < D ? (D - k) / (double) D : 0.0;
            model[k] = ls[k] * 0.9 + 0.01;
            avg[k] = k == 0 ? 1.0 : (D + 1.0) / k;
            knn[k] = k == 0 ? 1.0 : 2.0 - k / (double) points;
        }
        return new Evaluation(id, description, new Metric.SquaredError(), D, 128, List.of(curve("Transformer", model,
                0.05), curve("Least squares", ls, 0.02), curve("Averaging", avg, 0.1), curve("3-NN", knn, 0.05)));
    }

    static Evaluation.Curve curve(String name, double[] mean, double halfWidth) {
        double[] lo = new double[mean.length];
        double[] hi = new double[mean.length];
        for (int k = 0; k < mean.length; k++) {
            lo[k] = mean[k] - halfWidth * Math.abs(mean[k]);
            hi[k] = mean[k] + halfWidth * Math.abs(mean[k]);
        }
        return new Evaluation.Curve(name, mean, lo, hi);
    }

    static Document parseXml(Path file) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        DocumentBuilder b = f.newDocumentBuilder();
        b.setErrorHandler(null);
        return b.parse(new ByteArrayInputStream(Files.readAllBytes(file)));
    }

    static List<Element> elements(Document doc, String tag) {
        List<Element> out = new ArrayList<>();
        NodeList l = doc.getElementsByTagNameNS("*", tag);
        for (int i = 0; i < l.getLength(); i++) {
            out.add((Element) l.item(i));
        }
        return out;
    }

    static List<Element> descendants(Element e, String tag) {
        List<Element> out = new ArrayList<>();
        NodeList l = e.getElementsByTagNameNS("*", tag);
        for (int i = 0; i < l.getLength(); i++) {
            out.add((Element) l.item(i));
        }
        return out;
    }
}
