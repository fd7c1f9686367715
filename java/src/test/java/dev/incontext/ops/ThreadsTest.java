package dev.incontext.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * A config's {@code threads: 0} means the cores this JVM may use (or OMP_NUM_THREADS), on every host. It used to
 * leave libtorch's own default, which counts physical cores through CPUID: on a 2-core AMD EPYC virtual machine that
 * was 1 while the OS, Python's torch and the launcher's OpenBLAS pool all said 2, so the same config trained on one
 * thread there and on two elsewhere.
 */
class ThreadsTest {
    @Test
    void zeroMeansTheCoresOrOmpNumThreads() {
        assertEquals(2, Threads.fromEnvironment(null, 2));
        assertEquals(3, Threads.fromEnvironment("3", 2));
        assertEquals(4, Threads.fromEnvironment(" 4,2", 8), "a nested list: its first level");
        assertEquals(2, Threads.fromEnvironment("all", 2), "not a count: the cores");
        assertEquals(2, Threads.fromEnvironment("0", 2), "0 is no count either");
        assertEquals(1, Threads.fromEnvironment(null, 0));
        String env = System.getenv("OMP_NUM_THREADS");
        assertEquals(env == null ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(env.split(",")[0].trim()),
                Threads.defaultTorchThreads());
    }

    @Test
    void zeroSizesTorchsPoolToTheDefault() {
        NativeLibrary.load();
        int before = torch.get_num_threads();
        try {
            Threads.set(0, 0);
            assertEquals(Threads.defaultTorchThreads(), torch.get_num_threads(), "threads 0: the default count");
            assertEquals(Threads.defaultTorchThreads(), Ops.opThreads(), "the ops' loops run on as many");
            Threads.set(1, 0);
            assertEquals(1, torch.get_num_threads());
            Threads.set(0, 0);
            assertEquals(Threads.defaultTorchThreads(), torch.get_num_threads(), "0 again: back to the default, not "
                    + "the count the previous run left");
        } finally {
            torch.set_num_threads(before);
        }
    }
}
