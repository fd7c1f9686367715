package dev.incontext.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Provenance: the commit a result names is the build's, recorded when it was built. */
class BuildInfoTest {
    /**
     * The build records its commit (java/pom.xml's git-commit-id execution), and commit() reports that record: a jar
     * copied out of the checkout, or a checkout that moved on during a long run, still names the code that ran. The
     * tests run from a build of a git checkout, so the record exists here.
     */
    @Test
    void commitIsTheBuildsRecordedCommit() {
        String built = BuildInfo.builtCommit();
        assertNotNull(built, BuildInfo.GIT_PROPERTIES + " is missing from the build's classes or unreadable");
        assertTrue(built.matches("[0-9a-f]{40}(-dirty)?"), built);
        assertEquals(built, BuildInfo.commit());
    }

    /** The commit record changes with every commit; the code fingerprint (the eval cache's key) must not. */
    @Test
    void theCommitRecordIsNotPartOfTheCodeFingerprint(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("dev/incontext"));
        Files.writeString(dir.resolve("dev/incontext/A.class"), "code");
        Files.writeString(dir.resolve(BuildInfo.GIT_PROPERTIES), "git.commit.id.full=" + "a".repeat(40));
        String before = BuildInfo.fingerprint(dir);
        Files.writeString(dir.resolve(BuildInfo.GIT_PROPERTIES), "git.commit.id.full=" + "b".repeat(40));
        assertEquals(before, BuildInfo.fingerprint(dir));
        Files.writeString(dir.resolve("dev/incontext/A.class"), "other code");
        assertTrue(!before.equals(BuildInfo.fingerprint(dir)), "a code change changes the fingerprint");
    }
}
