package dev.incontext.train;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * An operating-system lock on a run directory ({@code out_dir/.lock}), held while a process trains, evaluates or
 * writes a sweep cell there: a second process (or a second run in this one) asking for it is refused at once, with
 * a message naming the holder. The lock goes with the process, so a killed run leaves no stale lock; the file stays,
 * holding who had it last.
 */
public final class RunLock implements AutoCloseable {
    static final String FILE = ".lock";
    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the lock of {@code runDir} (created if absent) for {@code what} (e.g. "train"), or refuses. */
    public static RunLock acquire(Path runDir, String what) throws IOException {
        Files.createDirectories(runDir);
        Path file = runDir.resolve(FILE);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;   // held by this JVM
        }
        if (l == null) {
            String holder = Files.readString(file, StandardCharsets.UTF_8).strip();
            ch.close();
            throw new IllegalStateException("out_dir " + runDir + " is in use by another run (" + (holder.isEmpty()
                    ? "holder unknown" : holder) + "); wait for it to finish, stop it, or choose another out_dir");
        }
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown host";
        }
        String holder = what + " by pid " + ProcessHandle.current().pid() + " on " + host + " since "
                + Instant.now() + " (" + ManagementFactory.getRuntimeMXBean().getName() + ")\n";
        ch.truncate(0);
        ch.write(ByteBuffer.wrap(holder.getBytes(StandardCharsets.UTF_8)), 0);
        ch.force(true);
        return new RunLock(ch, l);
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
