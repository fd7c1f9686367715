package dev.incontext.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import java.nio.file.Files;
import java.nio.file.Path;
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
        RunConfig saved = ConfigLoader.fromYaml(Files.readString(dir.resolve("config.yaml")));
        assertEquals(2, saved.training().steps());
        assertEquals(8, saved.model().width());
        assertTrue(Files.isDirectory(dir.resolve("checkpoints/step-00000002")));
    }

    @Test
    void unknownOverrideKeyFailsWithExitCodeOne(@TempDir Path dir) {
        assertEquals(1, Main.execute("train", "--config", "demo", "--training.stepz=2", "out_dir=" + dir));
    }
}
