package dev.incontext.report;

import dev.incontext.util.AtomicFiles;
import dev.incontext.eval.Agreement;
import dev.incontext.eval.Evaluation;
import dev.incontext.eval.Metric;
import dev.incontext.eval.Provenance;
import dev.incontext.eval.SuiteResult;
import dev.incontext.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Everything a suite evaluation produced, as files in one directory:
 *
 * <pre>
 *   report.html          one page over all settings: provenance, a summary table, per setting its plot and a table,
 *                        the skipped settings with why, agreement (SPD/ILWD) plots and tables
 *   suite.json           index: every setting with its files, the skipped ones with reasons, the agreements
 *   provenance.json      config, checkpoint and SHA-256, commit, version, device, CPU, date
 *   agreement.csv        setting,a,b,k,spd,ilwd (header only when there are no agreements)
 *   &lt;setting&gt;/eval.csv, eval.json, eval.png, eval.svg
 *   agreement/&lt;setting&gt;_spd.svg, _ilwd.svg
 * </pre>
 *
 * The page is HTML5 written as well-formed XML (an XML parser reads it), with inline CSS and inline SVG plots, and
 * only relative links, so the directory can be moved, zipped and opened offline. A setting's directory is its id
 * with any character other than letters, digits, '.', '_' and '-' replaced by '_', and so is a dot at either end
 * (made unique when needed).
 *
 * <p>The first curve of an evaluation is taken to be the model (the CLI and the suite put it first); the summary
 * shows, at k = d/2, d, 2d and the last k, the best predictor there and the model's value. d is read from the
 * provenance's config ({@code task.n_dims}); without it the summary uses a quarter, a half and all of the prompt.
 */
public final class SuiteReports {
    private static final Set<String> RESERVED = Set.of("agreement", "report.html", "suite.json", "provenance.json",
            "agreement.csv");

    private SuiteReports() {}

    /** Writes all of the above into {@code dir} (created when missing) and returns the path of report.html. */
    public static Path write(SuiteResult result, Path dir) throws IOException {
        for (Evaluation e : result.evaluations()) {
            if (e.curves().isEmpty()) {
                throw new IllegalArgumentException("setting " + e.setting() + " has no curves to report");
            }
        }
        Files.createDirectories(dir);
        OptionalInt d = nDims(result.provenance());
        Set<String> taken = new HashSet<>(RESERVED);
        List<Written> written = new ArrayList<>();
        for (Evaluation e : result.evaluations()) {
            String sub = unique(dirName(e.setting()), taken);
            Path sd = dir.resolve(sub);
            Files.createDirectories(sd);
            LineChart chart = LineChart.of(e);
            Reports.csv(e, sd.resolve("eval.csv"));
            Reports.json(e, sd.resolve("eval.json"));
            chart.writeSvg(sd.resolve("eval.svg"));
            Reports.plot(e, chart.title(), e.metric().trivial(), sd.resolve("eval.png"));
            written.add(new Written(e, sub, chart));
        }
        Map<String, List<Agreement>> bySetting = new LinkedHashMap<>();
        for (Agreement a : result.agreements()) {
            bySetting.computeIfAbsent(a.setting(), s -> new ArrayList<>()).add(a);
        }
        List<AgreementCharts> agreementCharts = new ArrayList<>();
        if (!bySetting.isEmpty()) {
            Files.createDirectories(dir.resolve("agreement"));
            Set<String> used = new HashSet<>();
            for (Map.Entry<String, List<Agreement>> g : bySetting.entrySet()) {
                String base = "agreement/" + unique(dirName(g.getKey()), used);
                AgreementCharts ac = AgreementCharts.of(g.getKey(), g.getValue(), base);
                ac.spd().writeSvg(dir.resolve(ac.spdFile()));
                ac.ilwd().writeSvg(dir.resolve(ac.ilwdFile()));
                agreementCharts.add(ac);
            }
        }
        AtomicFiles.write(dir.resolve("agreement.csv"), agreementCsv(result.agreements()));
        AtomicFiles.write(dir.resolve("provenance.json"), provenanceJson(result.provenance()));
        AtomicFiles.write(dir.resolve("suite.json"), suiteJson(result, written, agreementCharts));
        Path html = dir.resolve("report.html");
        AtomicFiles.write(html, new Page(result, written, agreementCharts, d).render());
        return html;
    }

    /** One evaluation and where its files went. */
    private record Written(Evaluation evaluation, String dir, LineChart chart) {
        String file(String name) {
            return dir + "/" + name;
        }
    }

    /** The SPD and ILWD charts of one setting's agreements. */
    private record AgreementCharts(String setting, List<Agreement> agreements, LineChart spd, LineChart ilwd,
            String spdFile, String ilwdFile) {
        static AgreementCharts of(String setting, List<Agreement> list, String base) {
            List<LineChart.Series> spd = new ArrayList<>();
            List<LineChart.Series> ilwd = new ArrayList<>();
            for (Agreement a : list) {
                spd.add(new LineChart.Series(a.a() + " vs " + a.b(), a.spd(), null, null));
                ilwd.add(new LineChart.Series(a.a() + " vs " + a.b(), a.ilwd(), null, null));
            }
            return new AgreementCharts(setting, list,
                    new LineChart(setting + ": squared prediction difference (SPD)", "in-context examples",
                            "SPD (normalised)", spd, Double.NaN, "", true, ""),
                    new LineChart(setting + ": implicit linear weight difference (ILWD)", "in-context examples",
                            "ILWD", ilwd, Double.NaN, "", true, ""),
                    base + "_spd.svg", base + "_ilwd.svg");
        }
    }

    static String dirName(String setting) {
        // dots only inside: a leading one hides the directory, trailing ones vanish on Windows
        String s = setting == null ? "" : setting.replaceAll("[^A-Za-z0-9._-]", "_").replaceAll("^\\.", "_")
                .replaceAll("\\.(?=\\.*$)", "_");
        return s.isEmpty() ? "_" : s;
    }

    /** {@code base} or base_2, base_3, ...; compared ignoring case, for case-insensitive file systems. */
    private static String unique(String base, Set<String> taken) {
        String s = base;
        for (int i = 2; !taken.add(s.toLowerCase(Locale.ROOT)); i++) {
            s = base + "_" + i;
        }
        return s;
    }

    /** task.n_dims of the provenance's config, when it has one. */
    static OptionalInt nDims(Provenance p) {
        if (p == null || p.configYaml() == null || p.configYaml().isBlank()) {
            return OptionalInt.empty();
        }
        try {
            Object root = new Yaml(new SafeConstructor(new LoaderOptions())).load(p.configYaml());
            if (root instanceof Map<?, ?> m && m.get("task") instanceof Map<?, ?> task
                    && task.get("n_dims") instanceof Number n && n.intValue() > 0) {
                return OptionalInt.of(n.intValue());
            }
        } catch (RuntimeException e) {
            // a config that is not YAML only costs the summary its k = d columns
        }
        return OptionalInt.empty();
    }

    private static String agreementCsv(List<Agreement> agreements) {
        StringBuilder s = new StringBuilder("setting,a,b,k,spd,ilwd\n");
        for (Agreement a : agreements) {
            int n = Math.max(a.spd().length, a.ilwd().length);
            for (int k = 0; k < n; k++) {
                s.append(Reports.csvField(a.setting())).append(',').append(Reports.csvField(a.a())).append(',')
                        .append(Reports.csvField(a.b())).append(',').append(k).append(',')
                        .append(k < a.spd().length ? csvNum(a.spd()[k]) : "").append(',')
                        .append(k < a.ilwd().length ? csvNum(a.ilwd()[k]) : "").append('\n');
            }
        }
        return s.toString();
    }

    private static String csvNum(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.8g", v) : "";
    }

    private static String provenanceJson(Provenance p) {
        if (p == null) {
            return "null\n";
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("checkpoint", p.checkpoint());
        m.put("checkpoint_sha256", p.checkpointSha256());
        m.put("commit", p.commit());
        m.put("library_version", p.libraryVersion());
        m.put("device", p.device());
        m.put("cpu", p.cpu());
        m.put("created", p.created());
        m.put("config_yaml", p.configYaml());
        return Json.pretty(m);
    }

    private static String suiteJson(SuiteResult r, List<Written> written, List<AgreementCharts> charts) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("suite", r.suite());
        m.put("report", "report.html");
        m.put("provenance", "provenance.json");
        m.put("agreement_csv", "agreement.csv");
        List<Object> settings = new ArrayList<>();
        for (Written w : written) {
            Evaluation e = w.evaluation();
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("setting", e.setting());
            s.put("description", e.description());
            s.put("dir", w.dir());
            s.put("metric", e.metric().label());
            s.put("normaliser", e.normaliser());
            s.put("prompts", e.prompts());
            s.put("points", e.points());
            s.put("predictors", e.curves().stream().map(Evaluation.Curve::predictor).toList());
            s.put("y_clipped", w.chart().clipped());
            Map<String, Object> files = new LinkedHashMap<>();
            for (String f : List.of("eval.csv", "eval.json", "eval.png", "eval.svg")) {
                files.put(f.substring(f.indexOf('.') + 1), w.file(f));
            }
            s.put("files", files);
            settings.add(s);
        }
        m.put("settings", settings);
        List<Object> skipped = new ArrayList<>();
        for (SuiteResult.Skipped k : r.skipped()) {
            skipped.add(Map.of("setting", k.setting(), "reason", k.reason()));
        }
        m.put("skipped", skipped);
        List<Object> agreements = new ArrayList<>();
        for (AgreementCharts c : charts) {
            for (Agreement a : c.agreements()) {
                Map<String, Object> g = new LinkedHashMap<>();
                g.put("setting", a.setting());
                g.put("a", a.a());
                g.put("b", a.b());
                g.put("mspd", Json.sig8(a.mspd()));
                g.put("spd_svg", c.spdFile());
                g.put("ilwd_svg", c.ilwdFile());
                agreements.add(g);
            }
        }
        m.put("agreements", agreements);
        return Json.pretty(m);
    }

    /** The k's a table shows: those of {@code wanted} inside 0 .. points - 1, in order, each once. */
    static List<Integer> columns(List<Integer> wanted, int points) {
        TreeSet<Integer> ks = new TreeSet<>();
        for (int k : wanted) {
            if (k >= 0 && k < points) {
                ks.add(k);
            }
        }
        return new ArrayList<>(ks);
    }

    /** The report page. */
    private record Page(SuiteResult result, List<Written> written, List<AgreementCharts> agreements, OptionalInt d) {
        String render() {
            Html h = new Html().doctype();
            h.open("html", "xmlns", "http://www.w3.org/1999/xhtml", "lang", "en");
            h.open("head").empty("meta", "charset", "utf-8")
                    .empty("meta", "name", "viewport", "content", "width=device-width, initial-scale=1")
                    .element("title", "incontext: " + result.suite())
                    .open("style").raw(CSS).close("style").close("head");
            h.open("body");
            h.open("header").element("h1", "Evaluation suite: " + result.suite());
            Provenance p = result.provenance();
            h.element("p", written.size() + " setting" + (written.size() == 1 ? "" : "s") + " evaluated, "
                    + result.skipped().size() + " skipped" + (p != null && p.created() != null ? "; created "
                    + p.created() : ""), "class", "sub");
            h.close("header");
            nav(h);
            provenance(h, p);
            summary(h);
            settings(h);
            skipped(h);
            agreement(h);
            h.open("footer").text("Written by incontext" + (p != null && p.libraryVersion() != null
                    ? " " + p.libraryVersion() : "") + ". Files: ").open("a", "href", "suite.json").text("suite.json")
                    .close("a").text(", ").open("a", "href", "provenance.json").text("provenance.json").close("a")
                    .text(", ").open("a", "href", "agreement.csv").text("agreement.csv").close("a").text(".")
                    .close("footer");
            h.close("body").close("html");
            return h.finish();
        }

        private void nav(Html h) {
            h.open("nav").open("ul");
            h.open("li").open("a", "href", "#provenance").text("Provenance").close("a").close("li");
            h.open("li").open("a", "href", "#summary").text("Summary").close("a").close("li");
            for (Written w : written) {
                h.open("li").open("a", "href", "#" + anchor(w)).text(w.evaluation().setting()).close("a").close("li");
            }
            if (!result.skipped().isEmpty()) {
                h.open("li").open("a", "href", "#skipped").text("Skipped").close("a").close("li");
            }
            if (!agreements.isEmpty()) {
                h.open("li").open("a", "href", "#agreement").text("Agreement").close("a").close("li");
            }
            h.close("ul").close("nav");
        }

        private void provenance(Html h, Provenance p) {
            h.open("section", "id", "provenance").element("h2", "Provenance");
            if (p == null) {
                h.element("p", "No provenance was recorded.", "class", "note");
                h.close("section");
                return;
            }
            h.open("dl", "class", "prov");
            row(h, "checkpoint", p.checkpoint());
            row(h, "checkpoint SHA-256", p.checkpointSha256());
            row(h, "commit", p.commit());
            row(h, "library version", p.libraryVersion());
            row(h, "device", p.device());
            row(h, "CPU", p.cpu());
            row(h, "created", p.created());
            h.close("dl");
            if (p.configYaml() != null && !p.configYaml().isBlank()) {
                h.open("details").element("summary", "configuration (YAML)")
                        .element("pre", p.configYaml()).close("details");
            }
            h.close("section");
        }

        private static void row(Html h, String key, String value) {
            h.element("dt", key).open("dd").open("code").text(value == null || value.isBlank() ? "\u2014" : value)
                    .close("code").close("dd");
        }

        private List<String> summaryLabels() {
            return d.isPresent() ? List.of("k = d/2", "k = d", "k = 2d", "last k")
                    : List.of("k = n/4", "k = n/2", "last k");
        }

        private List<Integer> summaryKs(int points) {
            if (d.isPresent()) {
                int dd = d.getAsInt();
                return List.of(dd / 2, dd, 2 * dd, points - 1);
            }
            return List.of(points / 4, points / 2, points - 1);
        }

        private void summary(Html h) {
            h.open("section", "id", "summary").element("h2", "Summary");
            if (written.isEmpty()) {
                h.element("p", "No setting was evaluated.", "class", "note").close("section");
                return;
            }
            h.element("p", "Per setting and number of in-context examples k: the best predictor there (lowest error "
                    + "or highest accuracy, by mean over prompts) and, beneath it, the model (the first curve of the "
                    + "setting)." + (d.isPresent() ? " d = " + d.getAsInt() + " from the config." : " The config does "
                    + "not give task.n_dims, so k is taken at fractions of the prompt length n.")
                    + " A dash: the setting does not score that k.");
            List<String> labels = summaryLabels();
            h.open("table", "class", "summary").open("thead").open("tr").element("th", "setting")
                    .element("th", "metric");
            for (String l : labels) {
                h.element("th", l);
            }
            h.close("tr").close("thead").open("tbody");
            for (Written w : written) {
                Evaluation e = w.evaluation();
                h.open("tr").open("td").open("a", "href", "#" + anchor(w)).text(e.setting()).close("a").close("td")
                        .element("td", e.metric().label());
                Evaluation.Curve model = e.curves().get(0);
                for (int k : summaryKs(e.points())) {
                    if (k < 0 || k >= e.points()) {
                        h.element("td", "\u2014", "class", "na");
                        continue;
                    }
                    Evaluation.Curve best = best(e, k);
                    h.open("td").open("span", "class", "k").text("k = " + k).close("span").empty("br")
                            .open("span", "class", "best").text(best.predictor()).close("span").text(" ")
                            .open("span", "class", "num").text(Ticks.label(best.mean()[k])).close("span");
                    if (best != model) {
                        h.empty("br").open("span", "class", "model").text(model.predictor() + " ")
                                .open("span", "class", "num").text(Ticks.label(model.mean()[k])).close("span")
                                .close("span");
                    } else {
                        h.empty("br").open("span", "class", "model").text("(the model)").close("span");
                    }
                    h.close("td");
                }
                h.close("tr");
            }
            h.close("tbody").close("table").close("section");
        }

        private static Evaluation.Curve best(Evaluation e, int k) {
            Evaluation.Curve best = null;
            for (Evaluation.Curve c : e.curves()) {
                double v = c.mean()[k];
                if (!Double.isFinite(v)) {
                    continue;
                }
                if (best == null || (e.metric().lowerIsBetter() ? v < best.mean()[k] : v > best.mean()[k])) {
                    best = c;
                }
            }
            return best == null ? e.curves().get(0) : best;
        }

        private List<Integer> tableKs(int points) {
            List<Integer> ks = new ArrayList<>(List.of(1));
            ks.addAll(summaryKs(points));
            return columns(ks, points);
        }

        private void settings(Html h) {
            for (Written w : written) {
                Evaluation e = w.evaluation();
                h.open("section", "id", anchor(w), "class", "setting").element("h2", e.setting());
                h.element("p", e.description(), "class", "desc");
                h.open("div", "class", "plot").raw(w.chart().svg("plot-" + anchor(w))).close("div");
                if (w.chart().clipped()) {
                    h.element("p", w.chart().clipNote() + " (the CSV and JSON hold every value).", "class", "note");
                }
                h.open("p", "class", "files").text("Files: ");
                String[][] files = {{"eval.svg", "SVG"}, {"eval.png", "PNG"}, {"eval.csv", "CSV"}, {"eval.json", "JSON"}};
                for (int i = 0; i < files.length; i++) {
                    h.text(i == 0 ? "" : " \u00b7 ").open("a", "href", w.file(files[i][0])).text(files[i][1]).close("a");
                }
                h.close("p");
                h.open("dl", "class", "meta");
                h.element("dt", "metric").open("dd").text(e.metric().label() + ": ").open("code")
                        .text(e.metric().formula()).close("code").close("dd");
                h.element("dt", "normaliser").open("dd").open("code").text(Ticks.label(e.normaliser())).close("code")
                        .text(e.metric() instanceof Metric.Accuracy ? " (not used by accuracy)"
                                : " = E[y_q\u00b2] of the setting's targets").close("dd");
                h.element("dt", LineChart.trivialLabel(e.metric())).element("dd", Ticks.label(e.metric().trivial())
                        + " (dashed line)");
                h.element("dt", "prompts").element("dd", e.prompts() + ", scored at k = 0 .. " + (e.points() - 1)
                        + "; band: " + e.band());
                h.close("dl");
                curveTable(h, e);
                h.close("section");
            }
        }

        private void curveTable(Html h, Evaluation e) {
            List<Integer> ks = tableKs(e.points());
            h.open("table", "class", "curves").open("thead").open("tr").element("th", "predictor");
            for (int k : ks) {
                h.element("th", "k = " + k);
            }
            h.close("tr").close("thead").open("tbody");
            for (Evaluation.Curve c : e.curves()) {
                h.open("tr").element("th", c.predictor());
                for (int k : ks) {
                    boolean isBest = best(e, k) == c;
                    h.open("td", "class", isBest ? "num bestcell" : "num").text(Ticks.label(c.mean()[k]))
                            .open("span", "class", "ci").text(" [" + Ticks.label(c.low()[k]) + ", "
                                    + Ticks.label(c.high()[k]) + "]").close("span").close("td");
                }
                h.close("tr");
            }
            h.close("tbody").close("table");
        }

        private void skipped(Html h) {
            if (result.skipped().isEmpty()) {
                return;
            }
            h.open("section", "id", "skipped").element("h2", "Skipped settings");
            h.open("table", "class", "skipped").open("thead").open("tr").element("th", "setting").element("th", "why")
                    .close("tr").close("thead").open("tbody");
            for (SuiteResult.Skipped s : result.skipped()) {
                h.open("tr").element("td", s.setting()).element("td", s.reason()).close("tr");
            }
            h.close("tbody").close("table").close("section");
        }

        private void agreement(Html h) {
            if (agreements.isEmpty()) {
                return;
            }
            h.open("section", "id", "agreement").element("h2", "Agreement between predictors");
            h.open("p").text("SPD(k): mean squared difference of two predictors' predictions at fresh queries, "
                    + "normalised; ILWD(k): squared distance between their implicit linear weights (least squares "
                    + "fitted to each one's predictions), over d; MSPD: SPD averaged over k < d. Every value: ")
                    .open("a", "href", "agreement.csv").text("agreement.csv").close("a").text(".").close("p");
            int i = 0;
            for (AgreementCharts c : agreements) {
                String id = "agreement-" + i++;
                h.open("section", "class", "setting", "id", id).element("h3", c.setting());
                h.open("div", "class", "plot").raw(c.spd().svg(id + "-spd")).close("div");
                if (c.spd().clipped()) {
                    h.element("p", c.spd().clipNote(), "class", "note");
                }
                h.open("div", "class", "plot").raw(c.ilwd().svg(id + "-ilwd")).close("div");
                if (c.ilwd().clipped()) {
                    h.element("p", c.ilwd().clipNote(), "class", "note");
                }
                h.open("p", "class", "files").text("Files: ").open("a", "href", c.spdFile()).text("SPD (SVG)")
                        .close("a").text(" \u00b7 ").open("a", "href", c.ilwdFile()).text("ILWD (SVG)").close("a")
                        .close("p");
                int points = c.agreements().stream().mapToInt(a -> a.spd().length).max().orElse(0);
                List<Integer> ks = tableKs(points);
                h.open("table", "class", "curves").open("thead").open("tr").element("th", "pair").element("th", "MSPD");
                for (int k : ks) {
                    h.element("th", "SPD / ILWD at k = " + k);
                }
                h.close("tr").close("thead").open("tbody");
                for (Agreement a : c.agreements()) {
                    h.open("tr").element("th", a.a() + " vs " + a.b()).element("td", Ticks.label(a.mspd()), "class", "num");
                    for (int k : ks) {
                        h.element("td", (k < a.spd().length ? Ticks.label(a.spd()[k]) : "\u2014") + " / "
                                + (k < a.ilwd().length ? Ticks.label(a.ilwd()[k]) : "\u2014"), "class", "num");
                    }
                    h.close("tr");
                }
                h.close("tbody").close("table").close("section");
            }
            h.close("section");
        }

        private static String anchor(Written w) {
            return "setting-" + w.dir();
        }
    }

    private static final String CSS = """
            body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222;
                   max-width: 1120px; margin: 0 auto; padding: 1.5em 2em 4em; line-height: 1.45; background: #fff; }
            h1 { font-size: 1.7em; margin: 0 0 .2em; }
            h2 { font-size: 1.3em; border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
            h3 { font-size: 1.1em; margin-top: 1.5em; }
            .sub { color: #666; margin-top: 0; }
            nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3em .9em; font-size: .92em; }
            a { color: #1f5fa8; text-decoration: none; } a:hover { text-decoration: underline; }
            code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em; }
            pre { background: #f6f8fa; padding: .8em 1em; overflow-x: auto; border-radius: 4px; }
            dl.prov, dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
            dl dt { color: #555; } dl dd { margin: 0; } dl.prov dd { word-break: break-all; }
            details summary { cursor: pointer; color: #1f5fa8; margin: .6em 0; }
            table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
            th, td { border: 1px solid #e1e4e8; padding: .35em .6em; vertical-align: top; text-align: left; }
            thead th { background: #f6f8fa; }
            tbody tr:nth-child(even) { background: #fbfbfc; }
            td.num, .num { font-variant-numeric: tabular-nums; text-align: right; }
            td.na { color: #aaa; text-align: center; }
            .k { color: #888; font-size: .85em; }
            .best { font-weight: 600; }
            .model { color: #666; font-size: .9em; }
            .bestcell { font-weight: 600; background: #eef6ee; }
            .ci { color: #888; font-size: .85em; }
            .plot svg { max-width: 100%; height: auto; }
            .note { color: #b22222; font-size: .92em; }
            .files { font-size: .9em; color: #555; }
            .desc { font-style: italic; color: #444; }
            section.setting { margin-bottom: 2.5em; }
            footer { margin-top: 3em; color: #777; font-size: .88em; border-top: 1px solid #eee; padding-top: .8em; }
            """;
}
