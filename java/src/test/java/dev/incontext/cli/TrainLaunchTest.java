package dev.incontext.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.train.LocalLaunch;
import dev.incontext.util.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code incontext train --nproc 2}: two rank processes on loopback train one run; a rank killed with -9 ends the
 * run with a message naming it, and the run resumes from its last checkpoint to the losses of an uninterrupted run.
 */
class TrainLaunchTest {
    private static final List<String> TINY = List.of("--config", "demo", "model.preset=custom", "model.n_layer=1",
            "model.n_head=2", "model.n_embd=16", "training.batch_size=16", "training.log_every=1", "seed=77");

    private static String[] run(List<String> args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = Main.execute(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new));
        return new String[] {Integer.toString(rc), out.toString(), err.toString()};
    }

    private static List<String> args(Path dir, int steps, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--nproc", "2"));
        a.addAll(TINY);
        a.addAll(List.of("training.steps=" + steps, "training.save_every=100", "out_dir=" + dir));
        a.addAll(List.of(more));
        return a;
    }

    static List<Double> losses(Path run) throws IOException {
        List<Double> l = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            l.add(Json.number(Json.parse(line).get("loss")));
        }
        return l;
    }

    @Test
    void aKilledRankEndsTheRunWhichResumesToTheUninterruptedLosses(@TempDir Path dir) throws Exception {
        int steps = 1000;
        String[] whole = run(args(dir.resolve("whole"), steps));
        assertEquals("0", whole[0], whole[1] + whole[2]);
        assertTrue(whole[1].contains("data parallel: 2 ranks on this machine"), whole[1]);
        assertTrue(whole[1].contains("rank 0 of 2") && whole[1].contains("step 999/1000"), whole[1]);
        List<Double> uninterrupted = losses(dir.resolve("whole"));
        assertEquals(steps, uninterrupted.size());

        Path killed = dir.resolve("killed");
        CompletableFuture<String[]> launch = CompletableFuture.supplyAsync(() -> run(args(killed, steps)));
        // Wait for the first checkpoint, then kill rank 1 with SIGKILL.
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!Files.isDirectory(killed.resolve("checkpoints/step-00000100")) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        Optional<ProcessHandle> rank1 = ProcessHandle.current().descendants().filter(p -> p.info().arguments()
                .map(a -> List.of(a).contains("-D" + LocalLaunch.RANK_PROPERTY + "=1")).orElse(false)).findFirst();
        assertTrue(rank1.isPresent(), "rank 1's process");
        long killedAt = System.nanoTime();
        rank1.get().destroyForcibly();
        String[] r = launch.get(2, TimeUnit.MINUTES);
        double endedAfter = (System.nanoTime() - killedAt) / 1e9;
        assertEquals("1", r[0], r[1] + r[2]);
        assertTrue(r[2].contains("rank 1 exited with code 137 (killed by signal 9, SIGKILL)"), r[2]);
        assertTrue(r[2].contains("Resume it from its last checkpoint with --resume"), r[2]);
        assertTrue(endedAfter < 60, "the run took " + endedAfter + " s to end after the kill");
        assertTrue(losses(killed).size() < steps, "the kill came before the end");

        String[] resumed = run(args(killed, steps, "--resume", killed.toString()));
        assertEquals("0", resumed[0], resumed[1] + resumed[2]);
        // Same world size, same machine: the same sums in the same order, so the same losses bit for bit.
        assertEquals(uninterrupted, losses(killed));
    }
}
