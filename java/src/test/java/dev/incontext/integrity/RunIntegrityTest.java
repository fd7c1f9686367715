package dev.incontext.integrity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.cli.Main;
import dev.incontext.config.ConfigException;
import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.sweep.CellResult;
import dev.incontext.sweep.SweepListener;
import dev.incontext.sweep.SweepOptions;
import dev.incontext.sweep.SweepOutcome;
import dev.incontext.sweep.SweepPlan;
import dev.incontext.sweep.SweepSpec;
import dev.incontext.sweep.Sweeps;
import dev.incontext.testing.ChildJvm;
import dev.incontext.testing.NativeScope;
import dev.incontext.train.CheckpointException;
import dev.incontext.train.Checkpoints;
import dev.incontext.train.TrainedModel;
import dev.incontext.train.Trainer;
import dev.incontext.util.Sha256;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Results that can be trusted (issue 20): each test reproduces a way a run used to end with a wrong or clobbered
 * result and exit code 0, with real files and, for the lock, a real second process.
 */
@ExtendWith(NativeScope.class)
class RunIntegrityTest {
    private static List<String> tiny(Path out, String... more) {
        List<String> o = new ArrayList<>(List.of("model.preset=custom", "model.n_layer=1", "model.n_head=2",
                "model.n_embd=16", "training.steps=6", "training.log_every=1", "training.save_every=3",
                "training.threads=1", "training.batch_size=8", "seed=1234", "out_dir=" + out));
        o.addAll(List.of(more));
        return o;
    }

    private static RunConfig config(Path out, String... more) {
        return ConfigLoader.load(RunConfig.class, "demo", tiny(out, more));
    }

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    /** A sweep run again with a changed fixed override trains the cell again; results.csv agrees with the weights. */
    @Test
    void aSweepWithAChangedOverrideRetrainsInsteadOfRelabelling(@TempDir Path dir) throws Exception {
        SweepOptions serial = new SweepOptions("serial", false, false, 0, Map.of());
        List<String> args = new ArrayList<>(tiny(dir, "training.learning_rate=0.001", "seed=1,2"));
        args.remove("out_dir=" + dir);
        args.remove("seed=1234");
        SweepOutcome first = Sweeps.run(SweepPlan.of(SweepSpec.load("demo", args, null, dir.toString())), serial,
                new SweepListener() {});
        assertEquals(2, first.count(CellResult.Status.FINISHED), first.cells().toString());
        Path cell = dir.resolve(first.cells().get(0).name());
        byte[] before = Files.readAllBytes(cell.resolve("checkpoints/step-00000006/model.pt"));

        args.replaceAll(a -> a.equals("training.learning_rate=0.001") ? "training.learning_rate=0.05" : a);
        SweepOutcome second = Sweeps.run(SweepPlan.of(SweepSpec.load("demo", args, null, dir.toString())), serial,
                new SweepListener() {});
        for (CellResult c : second.cells()) {
            assertEquals(CellResult.Action.TRAINED, c.action(), c.toString());
            assertEquals(-1, c.resumedFromStep(), c.toString());
        }
        byte[] after = Files.readAllBytes(cell.resolve("checkpoints/step-00000006/model.pt"));
        assertFalse(Arrays.equals(before, after), "the weights were not retrained");
        assertArrayEquals(before, Files.readAllBytes(cell.resolve("superseded-1/checkpoints/step-00000006/model.pt")),
                "the previous run is kept aside, not deleted");
        assertTrue(Files.readString(cell.resolve("config.yaml")).contains("learning_rate: 0.05"));
        assertNotEquals(first.cells().get(0).metrics().get("final_loss"), second.cells().get(0).metrics()
                .get("final_loss"));
    }

    /** Paths are values: '#', ': ', spaces and non-ASCII in out_dir reach the disk as written. */
    @Test
    void outDirsWithYamlCharactersAreUsedAsWritten(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("runs/sweep #1: ü x");
        RunConfig c = config(out);
        assertEquals(out.toString(), c.outDir());
        new Trainer().train(c, null);
        assertTrue(Files.isDirectory(out.resolve("checkpoints/step-00000006")));
        assertTrue(Files.notExists(dir.resolve("runs/sweep")), "the path was cut at '#'");
    }

    /** --resume of run A with out_dir B is refused, and B is left as it was. */
    @Test
    void aResumeWritesIntoTheRunItContinuesOnly(@TempDir Path dir) throws IOException {
        new Trainer().train(config(dir.resolve("a")), null);
        new Trainer().train(config(dir.resolve("b"), "seed=7"), null);
        String bConfig = Files.readString(dir.resolve("b/config.yaml"));
        String bMetrics = Files.readString(dir.resolve("b/metrics.jsonl"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer()
                .train(config(dir.resolve("b"), "training.steps=9"), dir.resolve("a")));
        assertTrue(e.getMessage().contains("continues the run in") && e.getMessage().contains("out_dir="),
                e.getMessage());
        assertEquals(bConfig, Files.readString(dir.resolve("b/config.yaml")));
        assertEquals(bMetrics, Files.readString(dir.resolve("b/metrics.jsonl")));
    }

    /** A resume with training.steps at or below the checkpoint's step trains nothing: refused, config unchanged. */
    @Test
    void aResumeWithNothingLeftToTrainIsRefused(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("r");
        new Trainer().train(config(run), null);
        String saved = Files.readString(run.resolve("config.yaml"));
        for (String steps : List.of("training.steps=6", "training.steps=3")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new Trainer().train(config(run, steps), run));
            assertTrue(e.getMessage().contains("nothing left to train"), e.getMessage());
            assertEquals(saved, Files.readString(run.resolve("config.yaml")));
        }
    }

    /** A resume refused for a garbled metrics line has changed nothing in the run directory. */
    @Test
    void aRefusedResumeChangesNothing(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("r");
        new Trainer().train(config(run), null);
        List<String> lines = new ArrayList<>(Files.readAllLines(run.resolve("metrics.jsonl")));
        lines.set(2, "{garbled");
        Files.write(run.resolve("metrics.jsonl"), lines);
        Files.createDirectories(run.resolve("checkpoints/.tmp-step-stale"));
        List<String> listing = listing(run);
        String saved = Files.readString(run.resolve("config.yaml"));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> new Trainer().train(config(run, "training.steps=9", "training.log_every=2"), run));
        assertTrue(e.getMessage().contains("line 3 is not a metrics record"), e.getMessage());
        assertEquals(saved, Files.readString(run.resolve("config.yaml")));
        assertEquals(lines, Files.readAllLines(run.resolve("metrics.jsonl")));
        assertEquals(listing, listing(run));
    }

    private static List<String> listing(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p).toString()).filter(p -> !p.equals(".lock")).sorted().toList();
        }
    }

    /** Values that would train something else than asked are refused, naming the key. */
    @Test
    void nonFiniteAndOutOfRangeValuesDuplicateKeysAndEmptyFilesAreRefused(@TempDir Path dir) throws IOException {
        for (String o : List.of("training.weight_decay=.nan", "task.noise_std=.nan", "training.grad_clip=.inf",
                "training.learning_rate=.nan", "seed=1e30")) {
            ConfigException e = assertThrows(ConfigException.class, () -> config(dir, o), o);
            assertEquals(o.substring(0, o.indexOf('=')), e.key(), e.getMessage());
        }
        Path dup = dir.resolve("dup.yaml");
        Files.writeString(dup, "inherit: demo\ntraining:\n  steps: 5\n  steps: 500\n");
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(RunConfig.class, dup.toString(), List.of()));
        assertTrue(e.getMessage().contains("steps") && e.getMessage().toLowerCase().contains("duplicate"),
                e.getMessage());
        Path empty = dir.resolve("empty.yaml");
        Files.writeString(empty, "# nothing here\n\n");
        e = assertThrows(ConfigException.class, () -> ConfigLoader.load(RunConfig.class, empty.toString(), List.of()));
        assertTrue(e.getMessage().contains("is empty"), e.getMessage());
        Path sweep = dir.resolve("sweep.yaml");
        Files.writeString(sweep, "base: demo\naxes:\n  seed: [1, 2, 3]\n  seed: [4]\n");
        RuntimeException s = assertThrows(RuntimeException.class, () -> SweepSpec.load(sweep.toString(), List.of(),
                null, null));
        assertTrue(s.getMessage().toLowerCase().contains("duplicate"), s.getMessage());
    }

    /** An out_dir that is a file, or the root directory, is refused before any work. */
    @Test
    void unusableOutDirsAreRefusedBeforeWork(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("a-file");
        Files.writeString(file, "keep me");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Trainer().train(config(file), null));
        assertTrue(e.getMessage().contains("is a file"), e.getMessage());
        assertEquals("keep me", Files.readString(file));
        e = assertThrows(IllegalArgumentException.class, () -> new Trainer().train(config(Path.of("/")), null));
        assertTrue(e.getMessage().contains("root directory"), e.getMessage());
    }

    /**
     * Two processes cannot train into one out_dir: while another JVM trains there, a second train is refused at
     * once, naming the holder's pid; the refusal changes nothing.
     */
    @Test
    void aSecondTrainOnALockedOutDirIsRefusedAtOnce(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        List<String> cmd = ChildJvm.cli(List.of(), joined(List.of("train", "--config", "demo"), tiny(out,
                "training.steps=1000000", "training.log_every=1000", "training.save_every=0")));
        Path log = dir.resolve("child.log");
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (child.isAlive() && System.nanoTime() < deadline && !(Files.exists(out.resolve("metrics.jsonl"))
                    && Files.size(out.resolve("metrics.jsonl")) > 0)) {
                Thread.sleep(20);
            }
            assertTrue(child.isAlive(), "the child ended: " + Files.readString(log));
            String config = Files.readString(out.resolve("config.yaml"));
            long t0 = System.nanoTime();
            String[] r = run(prepend(List.of("train", "--config", "demo", "--overwrite"), tiny(out)));
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals("1", r[0], r[1] + r[2]);
            assertTrue(r[2].contains("is in use by another run") && r[2].contains("pid " + child.pid()), r[2]);
            assertTrue(seconds < 30, "refused after " + seconds + " s");
            assertEquals(config, Files.readString(out.resolve("config.yaml")));
        } finally {
            child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        // The lock went with the killed process: the run can be trained again (afresh, with --overwrite).
        String[] again = run(prepend(List.of("train", "--config", "demo", "--overwrite"), tiny(out)));
        assertEquals("0", again[0], again[1] + again[2]);
    }

    /** eval writes beside the checkpoint it loaded: evaluating a copied run leaves the original alone. */
    @Test
    void evalWritesBesideTheCheckpointItLoaded(@TempDir Path dir) throws IOException {
        Path a = dir.resolve("a");
        new Trainer().train(config(a), null);
        Path b = dir.resolve("copy");
        try (var paths = Files.walk(a)) {
            for (Path p : paths.toList()) {
                Files.copy(p, b.resolve(a.relativize(p).toString()));
            }
        }
        String[] r = run("eval", "--checkpoint", b.toString(), "eval.num_prompts=16", "eval.batch_size=16");
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(Files.exists(b.resolve("eval-standard/report.html")), r[1]);
        assertTrue(Files.notExists(a.resolve("eval-standard")), "wrote into the original run");
    }

    /** eval overrides may change evaluation keys only; a token run's checkpoint is named as such. */
    @Test
    void evalRefusesOverridesThatDescribeAnotherModelAndCheckpointsOfAnotherKind(@TempDir Path dir)
            throws IOException {
        Path a = dir.resolve("a");
        new Trainer().train(config(a), null);
        String[] r = run("eval", "--checkpoint", a.toString(), "model.n_embd=32");
        assertEquals("1", r[0], r[1] + r[2]);
        assertTrue(r[2].contains("evaluation keys (eval.*) only") && r[2].contains("model.n_embd"), r[2]);
        assertFalse(r[2].contains("mat1 and mat2"), r[2]);
        Path tokens = dir.resolve("tokens");
        r = run("train", "--config", "he_modular", "out_dir=" + tokens, "training.steps=2", "training.save_every=2",
                "eval.every=2", "eval.rows=4", "eval.n_checkpoints=0", "model.n_embd=16", "model.n_head=2",
                "task.points_per_row=4", "training.threads=1");
        assertEquals("0", r[0], r[1] + r[2]);
        r = run("eval", "--checkpoint", tokens.toString());
        assertEquals("1", r[0], r[1] + r[2]);
        assertTrue(r[2].contains("is of a tokens run, not a regression run"), r[2]);
    }

    /** An export into a non-empty folder or onto a file is refused before any work; --overwrite leaves no stale file. */
    @Test
    void exportsRefuseUsedTargetsBeforeWork(@TempDir Path dir) throws IOException {
        Path a = dir.resolve("a");
        new Trainer().train(config(a), null);
        Path export = dir.resolve("export");
        Files.createDirectories(export.resolve("standard"));
        Files.writeString(export.resolve("standard/pred_stale.npy"), "stale");
        String[] r = run("eval", "--checkpoint", a.toString(), "--export", export.toString(), "eval.num_prompts=16",
                "eval.batch_size=16");
        assertEquals("1", r[0], r[1] + r[2]);
        assertTrue(r[2].contains("is not empty"), r[2]);
        assertTrue(Files.notExists(a.resolve("eval-standard")), "worked before refusing");
        Path file = dir.resolve("file");
        Files.writeString(file, "x");
        r = run("eval", "--checkpoint", a.toString(), "--export", file.toString());
        assertEquals("1", r[0], r[1] + r[2]);
        assertTrue(r[2].contains("is a file"), r[2]);
        r = run("eval", "--checkpoint", a.toString(), "--export", export.toString(), "--overwrite",
                "eval.num_prompts=16", "eval.batch_size=16");
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(Files.exists(export.resolve("standard/manifest.json")));
        assertTrue(Files.notExists(export.resolve("standard/pred_stale.npy")), "a stale prediction file stayed");
    }

    /** meta.yaml covers itself and its directory: an edited step is refused, not trusted. */
    @Test
    void editedCheckpointMetadataIsRefused(@TempDir Path dir) throws IOException {
        Path run = dir.resolve("r");
        new Trainer().train(config(run), null);
        Path ckpt = run.resolve("checkpoints/step-00000006");
        Path meta = ckpt.resolve("meta.yaml");
        String original = Files.readString(meta);
        Files.writeString(meta, original.replace("step: 6", "step: 3"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.inspect(ckpt));
        assertTrue(e.getMessage().contains("does not match its own SHA-256"), e.getMessage());
        // The same edit with the self-checksum recomputed: the directory's name still disagrees.
        String body = original.replace("step: 6", "step: 3");
        body = body.substring(0, body.lastIndexOf("meta_sha256: "));
        Files.writeString(meta, body + "meta_sha256: " + Sha256.hex(body) + "\n");
        e = assertThrows(CheckpointException.class, () -> Checkpoints.inspect(ckpt));
        assertTrue(e.getMessage().contains("says step 3 but the directory is step-00000006"), e.getMessage());
        // A weight file the table leaves out is not loaded unverified.
        body = original.substring(0, original.lastIndexOf("meta_sha256: "));
        body = body.replaceAll("(?m)^  optimizer.pt: .*\\n", "");
        Files.writeString(meta, body + "meta_sha256: " + Sha256.hex(body) + "\n");
        e = assertThrows(CheckpointException.class, () -> Checkpoints.inspect(ckpt));
        assertTrue(e.getMessage().contains("no entry for optimizer.pt"), e.getMessage());
    }

    /**
     * Resuming from an older checkpoint starts a new line: the abandoned newer checkpoints are moved aside (never
     * deleted, never used), so "newest" is the new line's and pruning cannot keep the stale one.
     */
    @Test
    void newestMeansNewestOfTheCurrentLineage(@TempDir Path dir) throws IOException {
        Path run2 = dir.resolve("r2");
        new Trainer().train(config(run2, "training.steps=9", "training.keep_checkpoints=5"), null);
        byte[] stale = Files.readAllBytes(run2.resolve("checkpoints/step-00000009/model.pt"));
        new Trainer().train(config(run2, "training.steps=7", "training.keep_checkpoints=1"),
                run2.resolve("checkpoints/step-00000003"));
        assertEquals(List.of("step-00000007"), Checkpoints.list(run2).stream().map(p -> p.getFileName().toString())
                .toList());
        assertEquals(7, Checkpoints.load(run2, m -> { }).step());
        assertEquals(7, Checkpoints.inspect(TrainedModel.load(run2).checkpoint().orElseThrow()).step());
        assertArrayEquals(stale, Files.readAllBytes(run2.resolve("checkpoints/abandoned-1/step-00000009/model.pt")));
        assertTrue(Files.isDirectory(run2.resolve("checkpoints/abandoned-1/step-00000006")));
    }

    /** demo replaces its own previous run only: pointed at another run it refuses, deleting nothing. */
    @Test
    void demoRefusesADirectoryThatIsNotADemoRun(@TempDir Path dir) throws IOException {
        Path other = dir.resolve("other");
        new Trainer().train(config(other), null);
        List<String> before = listing(other);
        List<String> demo = new ArrayList<>(List.of("demo"));
        demo.addAll(tiny(other, "eval.num_prompts=16", "eval.batch_size=16"));
        String[] r = run(demo.toArray(new String[0]));
        assertEquals("1", r[0], r[1] + r[2]);
        assertTrue(r[2].contains("holds a run the demo did not write"), r[2]);
        assertEquals(before, listing(other));
        Path own = dir.resolve("own");
        demo.replaceAll(a -> a.equals("out_dir=" + other) ? "out_dir=" + own : a);
        for (int i = 0; i < 2; i++) {   // the second demo replaces the first's run
            r = run(demo.toArray(new String[0]));
            assertEquals("0", r[0], r[1] + r[2]);
        }
    }

    /** Bad command-line numbers are named, before any file is written. */
    @Test
    void badCommandLineNumbersAreNamedBeforeWork(@TempDir Path dir) {
        String[] r = run("bench-train", "--steps", "0", "--preset", "tiny");
        assertEquals("1", r[0], r[1] + r[2]);
        assertTrue(r[2].contains("at least one timed step") && r[2].contains("--steps"), r[2]);
        assertFalse(r[2].contains("out of bounds"), r[2]);
        Path out = dir.resolve("sweep");
        r = run("sweep", "--config", "demo", "--master", "local[99999999999]", "--out", out.toString(), "seed=1,2");
        assertNotEquals("0", r[0], r[1] + r[2]);
        assertTrue(r[2].contains("--master local[99999999999]") && r[2].contains("cells side by side"), r[2]);
        assertFalse(r[2].contains("For input string"), r[2]);
        assertTrue(Files.notExists(out.resolve("base-config.yaml")), "wrote before refusing");
    }

    /**
     * Two CLI JVMs started together on one cold JavaCPP cache take turns extracting the native libraries (two
     * extracting at once have crashed a JVM): both finish, and the lock file the loads take turns through is there.
     */
    @Test
    void twoCliJvmsOnAColdCacheTakeTurnsExtracting(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("javacpp-cache");
        List<Process> children = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            List<String> cmd = ChildJvm.cli(List.of("-Dorg.bytedeco.javacpp.cachedir=" + cache),
                    joined(List.of("train", "--config", "demo"), tiny(dir.resolve("run" + i), "training.steps=1",
                            "training.save_every=1")));
            children.add(new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("child" + i + ".log").toFile()).start());
        }
        for (int i = 0; i < 2; i++) {
            assertTrue(children.get(i).waitFor(300, TimeUnit.SECONDS), "child " + i + " did not finish");
            assertEquals(0, children.get(i).exitValue(), Files.readString(dir.resolve("child" + i + ".log")));
        }
        assertTrue(Files.exists(cache.resolve(".incontext-extract.lock")), "the loads did not go through the lock");
    }

    /** A sweep cell whose checkpoints all fail verification trains afresh, its broken run kept aside, not deleted. */
    @Test
    void aCellWithOnlyBrokenCheckpointsKeepsThemAside(@TempDir Path dir) throws Exception {
        SweepOptions serial = new SweepOptions("serial", false, false, 0, Map.of());
        List<String> args = new ArrayList<>(tiny(dir, "seed=1,2"));
        args.remove("out_dir=" + dir);
        args.remove("seed=1234");
        SweepPlan plan = SweepPlan.of(SweepSpec.load("demo", args, null, dir.toString()));
        Sweeps.run(plan, serial, new SweepListener() {});
        Path cell = dir.resolve(plan.cells().get(0).name());
        List<Path> broken = new ArrayList<>();
        for (Path ckpt : Checkpoints.list(cell)) {
            Path model = ckpt.resolve("model.pt");
            byte[] b = Files.readAllBytes(model);
            b[b.length / 2] ^= 0x5A;
            Files.write(model, b);
            broken.add(cell.relativize(model));
        }
        Files.delete(cell.resolve("cell.yaml"));   // as if the execution died before recording the cell
        SweepOutcome again = Sweeps.run(plan, serial, new SweepListener() {});
        assertEquals(CellResult.Action.TRAINED, again.cells().get(0).action(), again.cells().get(0).toString());
        assertFalse(broken.isEmpty());
        for (Path b : broken) {
            assertTrue(Files.exists(cell.resolve("superseded-1").resolve(b)), "deleted: " + b);
        }
        Checkpoints.inspect(cell.resolve("checkpoints/step-00000006"));
    }

    /** Sweep reuse compares run identities: a change of a run-local key alone (log cadence) trains nothing again. */
    @Test
    void aSweepWithOnlyARunLocalChangeSkipsItsCells(@TempDir Path dir) throws Exception {
        SweepOptions serial = new SweepOptions("serial", false, false, 0, Map.of());
        List<String> args = new ArrayList<>(tiny(dir, "seed=1,2"));
        args.remove("out_dir=" + dir);
        args.remove("seed=1234");
        Sweeps.run(SweepPlan.of(SweepSpec.load("demo", args, null, dir.toString())), serial, new SweepListener() {});
        args.replaceAll(a -> a.equals("training.log_every=1") ? "training.log_every=2" : a);
        SweepOutcome again = Sweeps.run(SweepPlan.of(SweepSpec.load("demo", args, null, dir.toString())), serial,
                new SweepListener() {});
        for (CellResult c : again.cells()) {
            assertEquals(CellResult.Action.SKIPPED, c.action(), c.toString());
        }
    }

    private static String[] prepend(List<String> first, List<String> rest) {
        return joined(first, rest).toArray(new String[0]);
    }

    private static List<String> joined(List<String> first, List<String> rest) {
        List<String> all = new ArrayList<>(first);
        all.addAll(rest);
        return all;
    }
}
