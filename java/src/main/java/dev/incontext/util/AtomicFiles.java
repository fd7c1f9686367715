package dev.incontext.util;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The one way results, records and reports reach the disk: written to a temporary file of a name of its own beside
 * the target, flushed to the device, renamed over the target in one step, and the directory flushed too. A reader
 * sees the old file or the new one, never half of one, and a crash after the call returns loses neither. Files and
 * directories get the permissions the umask gives (group-readable where the umask allows, as a shared cluster
 * file system needs).
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes {@code text} (UTF-8) to {@code file} atomically and durably. */
    public static void write(Path file, CharSequence text) throws IOException {
        write(file, text.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Writes {@code bytes} to {@code file} atomically and durably. */
    public static void write(Path file, byte[] bytes) throws IOException {
        Path target = file.toAbsolutePath();
        Path tmp = target.resolveSibling("." + target.getFileName() + "." + ProcessHandle.current().pid() + "-"
                + Thread.currentThread().getId() + "-" + System.nanoTime() + ".tmp");
        try {
            Files.write(tmp, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            sync(tmp);
            move(tmp, target);
        } finally {
            Files.deleteIfExists(tmp);
        }
        syncDirectory(target.getParent());
    }

    /** Renames {@code from} to {@code to} in one step where the file system can (replacing {@code to}). */
    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Flushes a file's contents to the device. */
    public static void sync(Path file) throws IOException {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.WRITE)) {
            c.force(true);
        }
    }

    /** Flushes a directory's entries (a rename into it) to the device; a no-op where directories cannot be opened. */
    public static void syncDirectory(Path dir) {
        if (dir == null) {
            return;
        }
        try (FileChannel c = FileChannel.open(dir, StandardOpenOption.READ)) {
            c.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Not every platform opens directories; the rename itself is still atomic.
        }
    }
}
