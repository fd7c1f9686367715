package dev.incontext.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher script ({@code ./incontext}) in a copy of the project with no build yet, with stand-ins for Maven and
 * Java on the PATH: the stand-in Maven records each build and holds it until the test lets it finish.
 */
class LauncherScriptTest {
    /**
     * Two launchers started together on an unbuilt project (two runs side by side on a fresh clone) run one build:
     * the second waits for the first, says so, and then finds the jar built. Without the lock both ran Maven in the
     * same target/ folders and broke each other's JavaCPP build.
     */
    @Test
    void twoLaunchersStartedTogetherRunOneBuild(@TempDir Path dir) throws Exception {
        assumeTrue(new ProcessBuilder("sh", "-c", "command -v flock").start().waitFor() == 0,
                "flock (util-linux) is not installed: the launcher then builds without a lock");
        Path root = Files.createDirectories(dir.resolve("project"));
        Files.copy(Path.of("..", "incontext"), root.resolve("incontext"));
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path builds = dir.resolve("builds.txt");
        Path release = dir.resolve("release");
        executable(bin.resolve("mvn"), "#!/bin/sh\n"
                + "echo build >> '" + builds + "'\n"
                + "i=0; while [ ! -e '" + release + "' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\n"
                + "mkdir -p sweep/target && touch sweep/target/incontext-sweep.jar\n");
        executable(bin.resolve("java"), "#!/bin/sh\necho 'java ran'\n");
        Process[] launchers = new Process[2];
        Path[] logs = new Path[2];
        for (int i = 0; i < 2; i++) {
            logs[i] = dir.resolve("launcher" + i + ".log");
            ProcessBuilder pb = new ProcessBuilder("bash", root.resolve("incontext").toString(), "--version")
                    .redirectErrorStream(true).redirectOutput(logs[i].toFile());
            pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
            launchers[i] = pb.start();
        }
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!(read(logs[0]) + read(logs[1])).contains("waiting for it")) {
                assertTrue(lines(builds) < 2, "two builds at once:\n" + read(logs[0]) + "\n---\n" + read(logs[1]));
                assertTrue(System.nanoTime() < deadline, "no launcher waited:\n" + read(logs[0]) + "\n---\n"
                        + read(logs[1]));
                Thread.sleep(20);
            }
            Files.createFile(release);
            for (int i = 0; i < 2; i++) {
                assertTrue(launchers[i].waitFor(60, TimeUnit.SECONDS), "launcher " + i + " did not end");
                assertEquals(0, launchers[i].exitValue(), read(logs[i]));
                assertTrue(read(logs[i]).contains("java ran"), read(logs[i]));
            }
        } finally {   // a failed check leaves no stand-in Maven waiting
            for (Process p : launchers) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }
        assertEquals(1, lines(builds), read(logs[0]) + "\n---\n" + read(logs[1]));
    }

    private static void executable(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    }

    private static long lines(Path file) throws IOException {
        return Files.exists(file) ? Files.readAllLines(file).size() : 0;
    }
}
