package dev.incontext.sweep.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.sweep.CellResult;
import dev.incontext.sweep.SweepListener;
import dev.incontext.sweep.SweepOptions;
import dev.incontext.sweep.SweepOutcome;
import dev.incontext.sweep.SweepPlan;
import dev.incontext.sweep.Sweeps;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An embedded sweep ({@code local[N]}) opens no socket another host can reach: while it runs, every socket this JVM
 * listens on (read from /proc/net/tcp and tcp6, matched to this process' file descriptors) is on the loopback
 * address, and the Spark UI is off.
 */
class EmbeddedSweepLoopbackTest {
    @Test
    void anEmbeddedSweepListensOnLoopbackOnly(@TempDir Path dir) throws Exception {
        Set<String> listening = new TreeSet<>();
        AtomicBoolean running = new AtomicBoolean(true);
        Thread watcher = new Thread(() -> {
            while (running.get()) {
                try {
                    listening.addAll(listeningSockets());
                    Thread.sleep(25);
                } catch (IOException | InterruptedException e) {
                    return;
                }
            }
        });
        Set<String> before = listeningSockets();
        watcher.start();
        SweepOutcome r;
        try {
            SweepPlan plan = SweepPlan.of(SparkSweepTest.grid(dir.resolve("sweep"), "seed=1,2"));
            r = Sweeps.run(plan, new SweepOptions("local[2]", false, false, 0, Map.of()), new SweepListener() {});
        } finally {
            running.set(false);
            watcher.join();
        }
        assertEquals(2, r.count(CellResult.Status.FINISHED), r.cells().toString());
        listening.removeAll(before);
        assertFalse(listening.isEmpty(), "no listening socket seen while the sweep ran (is /proc readable?)");
        for (String s : listening) {
            assertTrue(s.startsWith("127.") || s.startsWith("[::1]") || s.startsWith("[::ffff:127."),
                    "the sweep listens on " + s + "; all: " + listening);
        }
        assertTrue(listening.stream().noneMatch(s -> s.endsWith(":4040")), "the Spark UI is on: " + listening);
    }

    /** host:port of every TCP socket this process listens on. */
    static Set<String> listeningSockets() throws IOException {
        Set<String> inodes = new HashSet<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : fds) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring(8, target.length() - 1));
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        Set<String> out = new TreeSet<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            Path p = Path.of(table);
            if (!Files.exists(p)) {
                continue;
            }
            List<String> lines = Files.readAllLines(p);
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 9 && f[3].equals("0A") && inodes.contains(f[9])) {
                    out.add(address(f[1]));
                }
            }
        }
        return out;
    }

    /** /proc's hex address:port (IPv4 or IPv6, little-endian words) as text. */
    static String address(String hex) {
        String[] hp = hex.split(":");
        int port = Integer.parseInt(hp[1], 16);
        String h = hp[0];
        if (h.length() == 8) {
            return Integer.parseInt(h.substring(6, 8), 16) + "." + Integer.parseInt(h.substring(4, 6), 16) + "."
                    + Integer.parseInt(h.substring(2, 4), 16) + "." + Integer.parseInt(h.substring(0, 2), 16) + ":" + port;
        }
        StringBuilder bytes = new StringBuilder();
        for (int w = 0; w < 4; w++) {
            String word = h.substring(8 * w, 8 * w + 8);
            for (int b = 3; b >= 0; b--) {
                bytes.append(word, 2 * b, 2 * b + 2);
            }
        }
        String b = bytes.toString().toLowerCase();
        if (b.equals("00000000000000000000000000000001")) {
            return "[::1]:" + port;
        }
        if (b.startsWith("00000000000000000000ffff")) {
            String v4 = Integer.parseInt(b.substring(24, 26), 16) + "." + Integer.parseInt(b.substring(26, 28), 16) + "."
                    + Integer.parseInt(b.substring(28, 30), 16) + "." + Integer.parseInt(b.substring(30, 32), 16);
            return "[::ffff:" + v4 + "]:" + port;
        }
        return "[" + b + "]:" + port;
    }
}
