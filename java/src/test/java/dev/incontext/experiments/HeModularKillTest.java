package dev.incontext.experiments;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.ModularConfig;
import dev.incontext.testing.ChildJvm;
import dev.incontext.sweep.Sweeps;
import dev.incontext.tasks.ModularSampler.Split;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A he-modular cell killed with SIGKILL by another process and run again resumes from its newest checkpoint to the
 * metrics of an uninterrupted run (on one machine, with one thread, as every bit-exact check here).
 */
class HeModularKillTest {
    private static final String CELL = "pl001-L1-a0.60";

    private static List<String> args(Path out) {
        return List.of("out_dir=" + out, "task.p=13", "task.alpha=0.6", "task.points_per_row=8",
                "training.steps=400", "training.warmup_steps=20", "training.save_every=25", "training.log_every=25",
                "training.threads=1", "training.blas_threads=1", "eval.every=50", "eval.rows=16",
                "eval.n_checkpoints=3", "model.n_layer=1", "model.n_embd=16", "model.n_head=2",
                "phase_diagram.n_tasks_pl=[1]", "phase_diagram.n_layer=[1]", "phase_diagram.alpha=[0.6]");
    }

    @Test
    void aCellKilledWithSigkillResumesToTheUninterruptedMetrics(@TempDir Path dir) throws Exception {
        ModularConfig whole = ConfigLoader.load(ModularConfig.class, null, args(dir.resolve("a")));
        HeModular.Report a = new HeModular(whole, m -> { }).run(Sweeps.SERIAL);

        // The same experiment in another JVM, killed (SIGKILL) once it has saved a few checkpoints.
        Path b = dir.resolve("b");
        List<String> cmd = new ArrayList<>(List.of("experiment", "he-modular", "--config", "he_modular"));
        cmd.addAll(args(b));
        cmd = ChildJvm.cli(List.of(), cmd);
        Path log = dir.resolve("child.log");
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Path checkpoints = b.resolve("cells").resolve(CELL).resolve("checkpoints");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (child.isAlive() && System.nanoTime() < deadline
                && !Files.isDirectory(checkpoints.resolve("step-00000100"))) {
            Thread.sleep(20);
        }
        assertTrue(child.isAlive(), "the child ended before it could be killed: " + Files.readString(log));
        child.destroyForcibly();   // SIGKILL: no shutdown hooks, no finally blocks
        assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        assertEquals(137, child.exitValue(), "killed by SIGKILL");
        assertTrue(Files.notExists(b.resolve("cells").resolve(CELL).resolve("result.json")), "killed mid-run");

        List<String> notes = new ArrayList<>();
        HeModular.Report again = new HeModular(ConfigLoader.load(ModularConfig.class, null, args(b)), notes::add)
                .run(Sweeps.SERIAL);
        assertTrue(notes.stream().anyMatch(n -> n.contains("resuming")), notes.toString());
        assertEquals(ChildJvm.records(dir.resolve("a/cells").resolve(CELL).resolve("metrics.jsonl")),
                ChildJvm.records(b.resolve("cells").resolve(CELL).resolve("metrics.jsonl")));
        for (Split s : Split.values()) {
            assertArrayEquals(a.cells().get(0).acc().get(s), again.cells().get(0).acc().get(s), s.name());
        }
    }
}
