package dev.incontext.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * Freed tensor memory stays in the heap (incontext.malloc=retain, the default): a loop that allocates and frees the
 * same tensors stops faulting pages in after its first rounds. The loop below (32 MiB in 2 MiB blocks, all freed
 * together, like a step's activations) faulted 2 pages a round in three runs with retain, and 515, 3,715 and 7,650
 * with -Dincontext.malloc=system (glibc trims the freed blocks from the heap), where this test fails.
 */
class MemoryTest {
    /** libtorch's Linux builds (and so this library's) run on glibc; the policy tunes glibc's malloc only. */
    private static boolean linux() {
        return System.getProperty("os.name").startsWith("Linux");
    }

    @Test
    void freedTensorMemoryIsReusedWithoutPageFaults() {
        assumeTrue(linux(), "the retain policy tunes glibc's malloc only");
        long pages = 0;
        for (int round = 0; round < 6; round++) {
            long before = Memory.minorPageFaults();
            try (PointerScope scope = new PointerScope()) {
                List<Tensor> blocks = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    blocks.add(torch.ones(1L << 19));   // 2 MiB of float32, every page written
                }
                assertEquals(16.0 * (1L << 19), blocks.stream().mapToDouble(b -> b.sum().item_double()).sum());
            }
            if (round >= 2) {   // the first rounds grow the heap
                pages += Memory.minorPageFaults() - before;
            }
        }
        // 8,192 pages a round if the heap gave all the blocks back; allow a little for the JVM's own first touches.
        assertTrue(pages / 4 < 256, "pages faulted in per round of reallocating 32 MiB: " + pages / 4);
        assertEquals("retain", Memory.policy(), "the default policy is retain on glibc");
    }

    @Test
    void pageFaultsAreCounted() {
        assumeTrue(linux(), "getrusage's fault counts are checked on Linux");
        long before = Memory.minorPageFaults();
        assertTrue(before > 0, "a running JVM has faulted pages in: " + before);
        try (PointerScope scope = new PointerScope()) {
            assertEquals(12.0 * (1L << 20), torch.ones(12L << 20).sum().item_double());   // 48 MiB: above the
            // 32 MiB that the heap serves, so mapped afresh and faulted in page by page
        }
        assertTrue(Memory.minorPageFaults() - before >= (48L << 20) / 4096 / 2,
                "48 MiB written to a fresh mapping must fault at least half its pages in");
    }

    @Test
    void aBadPolicyIsRefusedByName() {
        String old = System.getProperty(Memory.PROPERTY);
        System.setProperty(Memory.PROPERTY, "jemalloc");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Memory::configure);
            assertTrue(e.getMessage().contains("incontext.malloc must be retain or system, got 'jemalloc'"),
                    e.getMessage());
        } finally {
            if (old == null) {
                System.clearProperty(Memory.PROPERTY);
            } else {
                System.setProperty(Memory.PROPERTY, old);
            }
        }
    }
}
