package dev.incontext.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * The op library splits its CPU work over torch's intra-op threads. Until it was compiled with OpenMP its parallel
 * loops ran serially (ATen's at::parallel_for falls back to a plain loop in code compiled without it), which no
 * numerical test could see: the same numbers come out either way.
 */
class OpThreadsTest {
    @Test
    void opsUseTorchsThreadCount() {
        NativeLibrary.load();
        int before = torch.get_num_threads();
        try {
            for (int n : new int[] {1, 2, 3}) {
                torch.set_num_threads(n);
                assertEquals(n, Ops.opThreads(), "threads the ops' parallel loops ran on at torch thread count " + n);
            }
        } finally {
            torch.set_num_threads(before);
        }
    }
}
