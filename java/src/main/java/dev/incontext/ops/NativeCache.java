package dev.incontext.ops;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.global.torch;

/**
 * Loads libtorch and the project's ops once per JVM, extracting them into JavaCPP's cache under a file lock. JavaCPP's
 * cache is not safe for several JVMs extracting at once (two executor JVMs starting on a cold cache crashed one with
 * SIGBUS): every CLI command and every sweep executor loads through here, so at most one JVM per cache directory
 * extracts at a time and the others wait for it.
 */
public final class NativeCache {
    private static boolean ready;

    private NativeCache() {}

    /** Makes the native libraries loadable in this JVM; returns the seconds it took (0 when already done). */
    public static synchronized double prepare() {
        if (ready) {
            return 0;
        }
        long t0 = System.nanoTime();
        Path lock = null;
        try {
            Path dir = Loader.getCacheDir().toPath();
            Files.createDirectories(dir);
            lock = lockFile();
        } catch (IOException e) {
            // No cache directory we can write: JavaCPP will report its own error when it loads.
        }
        if (lock == null) {
            load();
        } else {
            try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                FileLock l = ch.lock();   // blocks while another JVM extracts
                try {
                    load();
                } finally {
                    l.release();
                }
            } catch (IOException e) {
                throw new IllegalStateException("cannot lock " + lock + " to extract the native libraries: " + e.getMessage(), e);
            }
        }
        ready = true;
        return (System.nanoTime() - t0) / 1e9;
    }

    /** The lock file in the cache directory that loads take turns through. */
    public static Path lockFile() throws IOException {
        return Loader.getCacheDir().toPath().resolve(".incontext-extract.lock");
    }

    /** Where JavaCPP extracts the native libraries (for messages). */
    public static String cacheDir() {
        try {
            return Loader.getCacheDir().toString();
        } catch (IOException e) {
            return "(unavailable: " + e.getMessage() + ")";
        }
    }

    private static void load() {
        Loader.load(torch.class);
        NativeLibrary.load();
    }
}
