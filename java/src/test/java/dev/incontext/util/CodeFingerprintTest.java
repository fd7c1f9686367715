package dev.incontext.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluation cache is keyed on the code that runs, not on the commit checked out: an uncommitted edit (a changed
 * class file, a rebuilt native library) changes the key.
 */
class CodeFingerprintTest {
    @Test
    void anEditedClassChangesTheFingerprint(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("dev/incontext/eval"));
        Files.write(dir.resolve("dev/incontext/eval/Evaluator.class"), new byte[] {1, 2, 3});
        Files.write(dir.resolve("libincontext_ops.so"), new byte[] {9});
        String before = BuildInfo.fingerprint(dir);
        assertEquals(before, BuildInfo.fingerprint(dir), "not a function of the files");
        Files.write(dir.resolve("dev/incontext/eval/Evaluator.class"), new byte[] {1, 2, 4});
        String edited = BuildInfo.fingerprint(dir);
        assertNotEquals(before, edited);
        Files.write(dir.resolve("libincontext_ops.so"), new byte[] {8});
        assertNotEquals(edited, BuildInfo.fingerprint(dir), "a rebuilt native library did not count");
    }

    @Test
    void theRunningCodeHasAStableFingerprint() {
        String f = BuildInfo.codeFingerprint();
        assertTrue(f.matches("[0-9a-f]{64}"), f);
        assertEquals(f, BuildInfo.codeFingerprint());
    }
}
