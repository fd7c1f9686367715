package dev.incontext.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.experiments.Experiments;
import dev.incontext.ops.Blas;
import dev.incontext.ops.WithProperty;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    /** Overrides are accepted both as key=value and as --key=value, and end up in the saved config. */
    @Test
    void trainAcceptsBothOverrideForms(@TempDir Path dir) throws Exception {
        int rc = Main.execute("train", "--config", "demo", "--training.steps=2", "model.preset=custom",
                "--model.n_layer=1", "model.n_head=1", "--model.n_embd=8", "training.batch_size=4",
                "training.save_every=2", "out_dir=" + dir);
        assertEquals(0, rc);
        RunConfig saved = ConfigLoader.fromYaml(RunConfig.class, Files.readString(dir.resolve("config.yaml")));
        assertEquals(2, saved.training().steps());
        assertEquals(8, saved.model().width());
        assertTrue(Files.isDirectory(dir.resolve("checkpoints/step-00000002")));
    }

    @Test
    void unknownOverrideKeyFailsWithExitCodeOne(@TempDir Path dir) {
        StringWriter err = new StringWriter();
        assertEquals(1, Main.execute(null, new PrintWriter(err), "train", "--config", "demo",
                "--training.stepz=2", "out_dir=" + dir));
        assertTrue(err.toString().contains("training.stepz") && err.toString().contains("unknown key")
                && err.toString().contains("steps"), err.toString());
        assertTrue(Files.notExists(dir.resolve("config.yaml")), "wrote before refusing");
    }

    /** ops-check covers every native op the library exposes, and passes. */
    @Test
    void opsCheckCoversEveryNativeOp() {
        StringWriter out = new StringWriter();
        int rc = Main.execute(new PrintWriter(out), null, "ops-check", "--seed", "11");
        assertEquals(0, rc, out.toString());
        for (String op : new String[] {"attention", "gelu_tanh", "prefix_lstsq", "prefix_avg", "prefix_knn", "relu_net",
            "boosted_trees"}) {
            assertTrue(out.toString().contains("\n" + op + " "), op + " missing from:\n" + out);
        }
        assertTrue(out.toString().contains("all within tolerance"), out.toString());
    }

    /** A fresh run refuses an out_dir holding a run, naming --overwrite; with --overwrite it starts afresh. */
    @Test
    void trainRefusesAUsedOutDirWithoutOverwrite(@TempDir Path dir) {
        String[] run = {"train", "--config", "demo", "training.steps=2", "model.preset=custom", "model.n_layer=1",
            "model.n_head=1", "model.n_embd=8", "training.batch_size=4", "training.save_every=2", "out_dir=" + dir};
        assertEquals(0, Main.execute(run));
        StringWriter err = new StringWriter();
        assertEquals(1, Main.execute(null, new PrintWriter(err), run));
        assertTrue(err.toString().contains("already holds a run") && err.toString().contains("--overwrite"),
                err.toString());
        String[] again = Arrays.copyOf(run, run.length + 1);
        again[run.length] = "--overwrite";
        assertEquals(0, Main.execute(again));
    }

    /**
     * bench-train times the trainer's own step (TrainingStep) and reports it, on the threads asked for (the trainer
     * sizes the pools from its config, so --threads must reach the config, or the run gets the default count).
     */
    @Test
    void benchTrainRunsTheTrainersStep() {
        StringWriter out = new StringWriter();
        int rc = Main.execute(new PrintWriter(out), null, "bench-train", "--preset", "tiny", "--steps", "2",
                "--warmup", "1", "--batch", "4", "--points", "5", "--dims", "3", "--threads", "1");
        assertEquals(0, rc, out.toString());
        assertTrue(out.toString().matches("(?s).*java preset=tiny .*threads=1 .*median_ms=[0-9.]+ "
                + ".*page_faults_per_step=[0-9]+ malloc=(retain|system) .*"), out.toString());
    }

    /** A bad BLAS or malloc choice in the environment is one error line and exit code 1, not a stack trace. */
    @Test
    void aBadProcessSettingIsAnErrorLine() {
        WithProperty.run(Blas.PROPERTY, "atlas", () -> {
            StringWriter err = new StringWriter();
            int rc = Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), "ops-check");
            assertEquals(1, rc, err.toString());
            assertEquals("incontext: error: incontext.blas must be mkl or openblas, got 'atlas'",
                    err.toString().strip());
        });
    }

    /** `experiment --help` names every registered experiment (the registry is the enum; the help text is static). */
    @Test
    void experimentHelpNamesEveryExperiment() {
        StringWriter out = new StringWriter();
        assertEquals(0, Main.execute(new PrintWriter(out), null, "experiment", "--help"));
        for (Experiments e : Experiments.values()) {
            assertTrue(out.toString().contains(e.id() + ":"), e.id() + " missing from:\n" + out);
        }
    }
}
