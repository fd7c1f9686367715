package dev.incontext.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static dev.incontext.report.ReportFixtures.N;
import static dev.incontext.report.ReportFixtures.descendants;
import static dev.incontext.report.ReportFixtures.elements;
import static dev.incontext.report.ReportFixtures.parseXml;
import static dev.incontext.report.ReportFixtures.regression;
import static dev.incontext.report.ReportFixtures.suite;

import dev.incontext.eval.Evaluation;
import dev.incontext.eval.SuiteResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

class SuiteReportsTest {
    @TempDir
    Path tmp;

    /**
     * report.html is well-formed XML; every img src, a href and object data is relative and exists (a fragment names
     * an element id of the page); every setting has its own section with a plot of all its curves; skipped settings
     * show their reasons; nothing points outside the directory.
     */
    @Test
    void theReportParsesAndEveryLinkAndSettingIsThere() throws Exception {
        SuiteResult r = suite();
        Path html = SuiteReports.write(r, tmp.resolve("out"));
        assertEquals(tmp.resolve("out").resolve("report.html"), html);
        Document doc = parseXml(html);
        Path dir = html.getParent();

        Set<String> ids = new HashSet<>();
        for (Element e : elements(doc, "*")) {
            if (e.hasAttribute("id") && !"http://www.w3.org/2000/svg".equals(e.getNamespaceURI())) {
                assertTrue(ids.add(e.getAttribute("id")), "duplicate id " + e.getAttribute("id"));
            }
        }
        Set<String> svgIds = new HashSet<>();
        for (Element e : elements(doc, "clipPath")) {
            assertTrue(svgIds.add(e.getAttribute("id")), "duplicate clip path id across inline plots: " + e.getAttribute("id"));
        }
        int links = 0;
        for (String[] ta : new String[][] {{"img", "src"}, {"a", "href"}, {"object", "data"}, {"link", "href"},
            {"script", "src"}}) {
            for (Element e : elements(doc, ta[0])) {
                String target = e.getAttribute(ta[1]);
                assertFalse(target.isEmpty(), "<" + ta[0] + "> without " + ta[1]);
                links++;
                if (target.startsWith("#")) {
                    assertTrue(ids.contains(target.substring(1)), "no element with id " + target);
                    continue;
                }
                assertFalse(target.contains(":") || target.startsWith("/") || target.contains(".."),
                        "not a relative link inside the report's directory: " + target);
                assertTrue(Files.isRegularFile(dir.resolve(target)), "missing link target " + target);
            }
        }
        assertTrue(links > 20, "links found: " + links);

        List<Element> sections = elements(doc, "section");
        for (Evaluation e : r.evaluations()) {
            Element section = sections.stream().filter(s -> s.getAttribute("class").equals("setting"))
                    .filter(s -> !descendants(s, "h2").isEmpty()
                            && descendants(s, "h2").get(0).getTextContent().equals(e.setting()))
                    .findFirst().orElse(null);
            assertNotNull(section, "no section for setting " + e.setting());
            List<Element> svgs = descendants(section, "svg");
            assertEquals(1, svgs.size(), e.setting() + ": one inline plot");
            assertEquals("http://www.w3.org/2000/svg", svgs.get(0).getNamespaceURI());
            String svgText = svgs.get(0).getTextContent();
            for (Evaluation.Curve c : e.curves()) {
                assertTrue(svgText.contains(c.predictor()), e.setting() + ": legend names " + c.predictor());
            }
            assertTrue(section.getTextContent().contains(e.description()), e.setting() + ": description");
            assertTrue(section.getTextContent().contains(e.metric().formula()), e.setting() + ": metric formula");
            assertTrue(descendants(section, "a").stream().anyMatch(a -> a.getAttribute("href").endsWith("eval.png")),
                    e.setting() + ": link to the PNG");
            assertEquals(1, descendants(section, "table").size(), e.setting() + ": a table");
        }
        String text = doc.getDocumentElement().getTextContent();
        for (SuiteResult.Skipped s : r.skipped()) {
            assertTrue(text.contains(s.reason()), "skipped reason of " + s.setting());
        }
        assertTrue(text.contains(r.provenance().checkpointSha256()), "checkpoint sha");
        assertTrue(text.contains(r.provenance().configYaml().strip()), "config in the page");
        assertEquals(1, elements(doc, "details").size(), "config collapsed");
        // summary: one row per setting, k = d/2, d, 2d and the last k with d from the config
        Element summary = elements(doc, "table").stream().filter(t -> t.getAttribute("class").equals("summary"))
                .findFirst().orElseThrow();
        assertEquals(r.evaluations().size(), descendants(summary, "tbody").get(0).getElementsByTagNameNS("*", "tr")
                .getLength());
        String head = descendants(summary, "thead").get(0).getTextContent();
        assertTrue(head.contains("k = d/2") && head.contains("k = 2d") && head.contains("last k"), head);
        // agreement plots inline, two per setting with agreements
        Element agreement = sections.stream().filter(s -> s.getAttribute("id").equals("agreement")).findFirst()
                .orElseThrow();
        assertEquals(2, descendants(agreement, "svg").size());
        assertTrue(agreement.getTextContent().contains("Transformer vs Averaging"));
        assertTrue(Files.readString(html).contains("<!DOCTYPE html>"));
        assertFalse(Files.readString(html).matches("(?s).*(src|href)=\"https?:.*"), "no external resource");
    }

    /** The files beside the page: per setting CSV, JSON, PNG, SVG; the index, provenance and agreement CSV. */
    @Test
    void everySettingGetsItsFilesAndTheIndexListsThem() throws Exception {
        SuiteResult r = suite();
        Path dir = tmp.resolve("out");
        SuiteReports.write(r, dir);
        Map<String, Object> index = MiniJson.object(Files.readString(dir.resolve("suite.json")));
        List<?> settings = (List<?>) index.get("settings");
        assertEquals(3, settings.size());
        Set<String> dirs = new HashSet<>();
        for (Object o : settings) {
            Map<?, ?> s = (Map<?, ?>) o;
            String sub = (String) s.get("dir");
            assertTrue(sub.matches("[A-Za-z0-9._-]+") && !sub.startsWith("."), "safe directory name: " + sub);
            assertTrue(dirs.add(sub));
            for (Object f : ((Map<?, ?>) s.get("files")).values()) {
                assertTrue(Files.isRegularFile(dir.resolve((String) f)), "listed file " + f);
            }
            Path sd = dir.resolve(sub);
            assertEquals("svg", parseXml(sd.resolve("eval.svg")).getDocumentElement().getLocalName());
            assertNotNull(ImageIO.read(sd.resolve("eval.png").toFile()), "PNG readable");
            Map<String, Object> ej = MiniJson.object(Files.readString(sd.resolve("eval.json")));
            assertEquals(s.get("setting"), ej.get("setting"));
            assertTrue(Files.readString(sd.resolve("eval.csv")).startsWith("predictor,k,mean,ci_low,ci_high\n"));
        }
        assertEquals("classif__x_____y____", ((Map<?, ?>) settings.get(2)).get("dir"));
        assertEquals(true, ((Map<?, ?>) settings.get(0)).get("y_clipped"), "averaging explodes in standard");
        assertEquals(false, ((Map<?, ?>) settings.get(2)).get("y_clipped"), "accuracy is never clipped");
        List<?> skipped = (List<?>) index.get("skipped");
        assertEquals(2, skipped.size());
        assertEquals(r.skipped().get(0).reason(), ((Map<?, ?>) skipped.get(0)).get("reason"));

        Map<String, Object> prov = MiniJson.object(Files.readString(dir.resolve("provenance.json")));
        assertEquals(r.provenance().configYaml(), prov.get("config_yaml"));
        assertEquals(r.provenance().checkpointSha256(), prov.get("checkpoint_sha256"));

        List<String> csv = Files.readAllLines(dir.resolve("agreement.csv"));
        assertEquals("setting,a,b,k,spd,ilwd", csv.get(0));
        assertEquals(1 + 2 * N, csv.size());
        assertTrue(csv.get(1).startsWith("standard,Transformer,Least squares,0,"), csv.get(1));
        assertTrue(csv.get(4).startsWith("standard,Transformer,Least squares,3,") && csv.get(4).endsWith(","),
                "a NaN ILWD is an empty field: " + csv.get(4));
        for (Object o : (List<?>) index.get("agreements")) {
            Map<?, ?> a = (Map<?, ?>) o;
            assertEquals("svg", parseXml(dir.resolve((String) a.get("spd_svg"))).getDocumentElement().getLocalName());
        }
    }

    /**
     * With no provenance, no config to read d from, no agreements and nothing skipped the page still parses, and the
     * summary falls back to fractions of the prompt.
     */
    @Test
    void aBareSuiteStillMakesAWellFormedPage() throws Exception {
        SuiteResult r = new SuiteResult("bare", List.of(regression("standard", "the training distribution", 11)),
                List.of(), List.of(), null);
        Path html = SuiteReports.write(r, tmp.resolve("bare"));
        Document doc = parseXml(html);
        assertTrue(doc.getDocumentElement().getTextContent().contains("k = n/2"));
        assertEquals(1, elements(doc, "svg").size());
        assertEquals("setting,a,b,k,spd,ilwd\n", Files.readString(html.getParent().resolve("agreement.csv")));
        assertEquals("null", Files.readString(html.getParent().resolve("provenance.json")).strip());
    }

    /** Two evaluations of one setting id (or ids that differ only in case) do not overwrite each other's files. */
    @Test
    void settingsSharingADirectoryNameGetTheirOwn() throws Exception {
        SuiteResult r = new SuiteResult("twice", List.of(regression("standard", "first", 11),
                regression("standard", "second", 11), regression("Standard", "third", 11),
                regression("agreement", "a setting named like the agreement folder", 11)), List.of(), List.of(), null);
        Path html = SuiteReports.write(r, tmp.resolve("twice"));
        Map<String, Object> index = MiniJson.object(Files.readString(html.getParent().resolve("suite.json")));
        assertEquals(List.of("standard", "standard_2", "Standard_3", "agreement_2"), ((List<?>) index.get("settings"))
                .stream().map(o -> ((Map<?, ?>) o).get("dir")).toList());
        assertTrue(Files.readString(html.getParent().resolve("standard_2/eval.json")).contains("\"second\""));
        Document doc = parseXml(html);
        Set<String> ids = new HashSet<>();
        for (Element e : elements(doc, "section")) {
            assertTrue(e.getAttribute("id").isEmpty() || ids.add(e.getAttribute("id")), "duplicate " + e.getAttribute("id"));
        }
    }
}
