package dev.incontext.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.testing.NativeScope;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints broken the way a crash or a disk breaks them: each is refused with a message naming the file (never a
 * NullPointerException), or recovered without losing a complete checkpoint.
 */
@ExtendWith(NativeScope.class)
class CheckpointsTest {
    /** A run of 10 steps with checkpoints at 5 and 10. */
    private static Path run(Path dir) throws IOException {
        Path run = dir.resolve("run");
        new Trainer().train(TrainerTest.tiny(run, "training.save_every=5"), null);
        return run;
    }

    private static Path step(Path run, int step) {
        return Checkpoints.dir(run).resolve(String.format("step-%08d", step));
    }

    @Test
    void brokenMetaYamlIsACorruptedCheckpoint(@TempDir Path dir) throws IOException {
        Path run = run(dir);
        Path meta = step(run, 10).resolve("meta.yaml");
        String good = Files.readString(meta);
        String body = good.substring(0, good.lastIndexOf("meta_sha256: "));
        String[][] cases = {
            {"", "meta.yaml it is empty"},
            {"{format: 1, step: [unclosed", "meta.yaml it is not valid YAML"},
            {"\u0000\u0001\u00ff garbage", "meta.yaml it is not valid YAML"},
            {"just a string", "meta.yaml it does not hold a mapping"},
            // Edits sealed with a recomputed self-checksum, so that each field's own check is what refuses them.
            {sealed(body.replaceAll("(?m)^step:.*\n", "")), "its 'step' is missing"},
            {sealed(body.replaceAll("(?m)^step:.*$", "step: ten")), "its 'step' is 'ten'"},
            {sealed(body.substring(0, body.indexOf("sha256"))), "its 'sha256' table is missing"},
            {sealed(body.replaceAll("(?m)^format:.*\n", "")), "its 'format' is missing"},
            {good.replace("step: 10", "step: 5"), "does not match its own SHA-256"},   // an edit, not re-sealed
            {body, "has no 'meta_sha256:' line"},   // torn by a crash before its last line
        };
        for (String[] c : cases) {
            Files.writeString(meta, c[0], StandardCharsets.UTF_8);
            CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.inspect(step(run, 10)),
                    "meta.yaml = " + c[0]);
            assertTrue(e.getMessage().contains(step(run, 10).toString()), e.getMessage());
            assertTrue(e.getMessage().contains("corrupted") || e.getMessage().contains("incomplete"), e.getMessage());
            assertTrue(e.getMessage().contains(c[1]), "expected '" + c[1] + "' in: " + e.getMessage());
            // TrainedModel.load on the checkpoint refuses it the same way; on the run, it falls back to step 5.
            assertThrows(CheckpointException.class, () -> TrainedModel.load(step(run, 10)));
            List<String> notices = new ArrayList<>();
            TrainedModel.load(run, notices::add);
            assertTrue(notices.get(notices.size() - 1).contains(step(run, 5).toString()), notices.toString());
        }
        Files.delete(meta);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.inspect(step(run, 10)));
        assertTrue(e.getMessage().contains("meta.yaml is missing"), e.getMessage());
    }

    /** {@code body} with the self-checksum line a format-2 meta.yaml ends with. */
    static String sealed(String body) {
        return body + "meta_sha256: " + Checkpoints.sha256(body.getBytes(StandardCharsets.UTF_8)) + "\n";
    }

    @Test
    void missingOrTruncatedFilesAreNamed(@TempDir Path dir) throws IOException {
        Path run = run(dir);
        Path model = step(run, 10).resolve("model.pt");
        byte[] bytes = Files.readAllBytes(model);
        Files.write(model, Arrays.copyOf(bytes, bytes.length / 3));   // a disk that filled up
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.inspect(step(run, 10)));
        assertEquals(model, e.path());
        Files.delete(model);
        e = assertThrows(CheckpointException.class, () -> Checkpoints.inspect(step(run, 10)));
        assertTrue(e.getMessage().contains("model.pt is missing"), e.getMessage());
    }

    @Test
    void noValidCheckpointNamesEveryReason(@TempDir Path dir) throws IOException {
        Path run = run(dir);
        Files.writeString(step(run, 5).resolve("meta.yaml"), "");
        Files.writeString(step(run, 10).resolve("meta.yaml"), "");
        CheckpointException e = assertThrows(CheckpointException.class, () -> TrainedModel.load(run));
        assertTrue(e.getMessage().startsWith("no valid checkpoint in"), e.getMessage());
        assertTrue(e.getMessage().contains("step-00000005") && e.getMessage().contains("step-00000010"), e.getMessage());
    }

    /**
     * Replacing step-N (a run resumed from an older checkpoint reaches N again): a crash after the old one was moved
     * aside and before the new one was moved in leaves .replaced-step-N and no step-N. That checkpoint is still
     * found, and the next run puts it back; a crash during the save leaves a .tmp-step-* that the next run deletes.
     */
    @Test
    void aCrashWhileReplacingAStepLosesNothing(@TempDir Path dir) throws IOException {
        Path run = run(dir);
        Path root = Checkpoints.dir(run);
        Files.move(step(run, 10), root.resolve(".replaced-step-00000010"));
        Path tmp = Files.createDirectory(root.resolve(".tmp-step-4711"));
        Files.writeString(tmp.resolve("model.pt"), "half a checkpoint");

        assertEquals(root.resolve(".replaced-step-00000010"), Checkpoints.resolve(run));
        assertEquals(10, TrainedModel.load(run).config().training().steps());
        assertEquals(10, Checkpoints.load(run, m -> {}).step());

        List<String> notices = new ArrayList<>();
        TrainerTest.Losses l = new TrainerTest.Losses() {
            @Override
            public void onNotice(String message) {
                notices.add(message);
            }
        };
        new Trainer(l).train(TrainerTest.tiny(run, "training.steps=12", "training.save_every=5"), run);
        assertEquals(2, l.values.size(), "resumed at step 10: " + notices);
        assertFalse(Files.exists(tmp), "stale temporary checkpoint left behind");
        assertFalse(Files.exists(root.resolve(".replaced-step-00000010")));
        assertTrue(Files.isDirectory(step(run, 10)), "the replaced checkpoint was put back");
        assertEquals(2, notices.stream().filter(n -> n.startsWith("deleted the unfinished") || n.startsWith("restored"))
                .count(), notices.toString());
    }

    /** Saving over an existing step-N replaces it completely and leaves no temporaries behind. */
    @Test
    void savingOverAnExistingStepReplacesIt(@TempDir Path dir) throws IOException {
        Path run = run(dir);
        Object before = Files.readAttributes(step(run, 10), BasicFileAttributes.class).fileKey();
        // Resume from step 5: step 10 is written again, as a new directory moved into place.
        new Trainer().train(TrainerTest.tiny(run, "training.save_every=5"), step(run, 5));
        Object after = Files.readAttributes(step(run, 10), BasicFileAttributes.class).fileKey();
        assertFalse(before.equals(after), "step 10 was not replaced");
        Checkpoints.inspect(step(run, 10));
        try (var s = Files.list(Checkpoints.dir(run))) {
            // The abandoned line's step 10 is kept aside, and the new line's step 10 is in place.
            assertEquals(List.of("abandoned-1", "step-00000005", "step-00000010"),
                    s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }
}
