package dev.incontext.train;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts the ranks of a data-parallel run as processes on this machine and watches them: each runs
 * {@code command} with the environment {@link DataParallel#fromEnvironment} reads (rank, world size, and a fresh
 * loopback port for rank 0's store). Rank 0's standard output is copied to {@code out}, every rank's standard error
 * to {@code err} (the other ranks' lines prefixed with their rank); the other ranks' standard output is discarded
 * (they write nothing but errors). When a rank fails (a non-zero exit, a
 * signal), the others are ended and the run ends with a message naming the rank; a rank that hangs makes the
 * others' collectives fail after the timeout, which ends the run the same way.
 */
public final class LocalLaunch {
    /** The JVM property that names a child's rank on its command line (for ps, and for tests that kill one). */
    public static final String RANK_PROPERTY = "incontext.rank";

    private LocalLaunch() {}

    /** A rank that ended the run: which, its exit code, and what that code means. */
    public record Failure(int rank, int exitCode) {
        public String describe() {
            String how = exitCode > 128 && exitCode < 160 ? " (killed by signal " + (exitCode - 128)
                    + (exitCode == 137 ? ", SIGKILL" : exitCode == 143 ? ", SIGTERM" : "") + ")" : "";
            return "rank " + rank + " exited with code " + exitCode + how;
        }
    }

    /**
     * Which rank ended the run, once rank {@code first} was seen to have failed: a rank that dies takes the others'
     * collectives down with it, and they exit with an error of their own within moments, possibly before the
     * launcher looks at the one that died. So the others get a moment to exit, and a rank ended by a signal (a crash,
     * kill -9) is named before ranks that exited with an error; among equals, the first seen.
     */
    private static Failure cause(List<Process> ranks, int first) throws InterruptedException {
        long deadline = System.nanoTime() + 2_000_000_000L;
        for (Process p : ranks) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                p.waitFor(left, java.util.concurrent.TimeUnit.NANOSECONDS);
            }
        }
        Failure chosen = new Failure(first, ranks.get(first).exitValue());
        for (int r = 0; r < ranks.size(); r++) {
            Process p = ranks.get(r);
            if (!p.isAlive() && p.exitValue() > 128 && !(chosen.exitCode() > 128)) {
                chosen = new Failure(r, p.exitValue());
            }
        }
        return chosen;
    }

    /** Copies a child's stream line by line to {@code to} (flushed per line), in a daemon thread. */
    private static Thread pump(java.io.InputStream from, PrintWriter to, String prefix) {
        Thread t = new Thread(() -> {
            try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(from,
                    java.nio.charset.StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    synchronized (to) {
                        to.println(prefix + line);
                        to.flush();
                    }
                }
            } catch (IOException e) {
                // the child is gone: its stream ends here
            }
        }, "incontext-rank-output");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** This machine's cores shared out over {@code nproc} ranks (at least 1 each). */
    public static int threadsPerRank(int nproc) {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / nproc);
    }

    /**
     * The command that starts {@code mainClass} with {@code args} in a JVM like this one: the same java, JVM options
     * (system properties, stack size, module opens) and class path.
     */
    public static List<String> thisJvm(String mainClass, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-D" + RANK_PROPERTY + "=") && !a.startsWith("-agentlib:jdwp")) {
                cmd.add(a);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    /**
     * Runs {@code nproc} ranks of {@code command} ({@code java ... Main train ...}, into whose JVM options the rank
     * property is inserted after the first element) and waits for all of them.
     *
     * @return null when every rank finished; else the first rank that failed (the others were ended)
     */
    public static Failure run(List<String> command, int nproc, Duration timeout, PrintWriter out, PrintWriter err)
            throws IOException, InterruptedException {
        return run(command, nproc, timeout, false, out, err);
    }

    /**
     * As {@link #run(List, int, Duration, PrintWriter, PrintWriter)}; with {@code gpuPerRank} rank r sees only GPU r
     * ({@code CUDA_VISIBLE_DEVICES=r}), so that a run on {@code cuda} puts each rank on its own GPU (NCCL).
     */
    public static Failure run(List<String> command, int nproc, Duration timeout, boolean gpuPerRank, PrintWriter out,
            PrintWriter err) throws IOException, InterruptedException {
        if (nproc < 2) {
            throw new IllegalArgumentException("a local launch needs at least 2 ranks; got " + nproc);
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<Process> ranks = new ArrayList<>();
        List<Thread> pumps = new ArrayList<>();
        Thread cleanup = new Thread(() -> ranks.forEach(Process::destroyForcibly));
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            for (int r = 0; r < nproc; r++) {
                List<String> cmd = new ArrayList<>(command);
                cmd.add(1, "-D" + RANK_PROPERTY + "=" + r);
                ProcessBuilder pb = new ProcessBuilder(cmd);
                Map<String, String> env = pb.environment();
                env.put(DataParallel.RANK_ENV, Integer.toString(r));
                env.put(DataParallel.WORLD_SIZE_ENV, Integer.toString(nproc));
                env.put(DataParallel.ADDRESS_ENV, "127.0.0.1");
                env.put(DataParallel.PORT_ENV, Integer.toString(port));
                env.put(DataParallel.TIMEOUT_ENV, Long.toString(Math.max(1, timeout.toSeconds())));
                // The cores shared out: each rank's torch and BLAS pools (training.threads / blas_threads override).
                env.put("OMP_NUM_THREADS", Integer.toString(threadsPerRank(nproc)));
                env.put("OPENBLAS_NUM_THREADS", Integer.toString(threadsPerRank(nproc)));
                if (gpuPerRank) {
                    env.put("CUDA_VISIBLE_DEVICES", Integer.toString(r));
                }
                pb.redirectOutput(r == 0 ? ProcessBuilder.Redirect.PIPE : ProcessBuilder.Redirect.DISCARD);
                Process p = pb.start();
                ranks.add(p);
                p.getOutputStream().close();
                if (r == 0) {
                    pumps.add(pump(p.getInputStream(), out, ""));
                }
                pumps.add(pump(p.getErrorStream(), err, r == 0 ? "" : "[rank " + r + "] "));
            }
            while (true) {
                int running = 0;
                for (int r = 0; r < nproc; r++) {
                    Process p = ranks.get(r);
                    if (p.isAlive()) {
                        running++;
                    } else if (p.exitValue() != 0) {
                        Failure f = cause(ranks, r);
                        synchronized (err) {
                            err.println("incontext: " + f.describe() + "; ending the other ranks");
                            err.flush();
                        }
                        for (Process other : ranks) {
                            other.destroyForcibly();
                        }
                        for (Process other : ranks) {
                            other.waitFor();
                        }
                        for (Thread t : pumps) {
                            t.join();
                        }
                        return f;
                    }
                }
                if (running == 0) {
                    for (Thread t : pumps) {
                        t.join();
                    }
                    return null;
                }
                Thread.sleep(100);
            }
        } finally {
            for (Process p : ranks) {
                p.destroyForcibly();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook runs anyway
            }
        }
    }
}
