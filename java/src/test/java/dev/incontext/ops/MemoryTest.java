package dev.incontext.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * Freed tensor memory stays in the heap (incontext.malloc=retain, the default): a loop that allocates and frees the
 * same tensors stops faulting pages in after its first rounds. The loop below (32 MiB in 2 MiB blocks, all freed
 * together, like a step's activations) faulted at most 6 pages a round after its third in three runs with retain,
 * and 2,050 to 7,656 in every round with -Dincontext.malloc=system (glibc trims the freed blocks from the heap),
 * where this test fails.
 */
class MemoryTest {
    /** libtorch's Linux builds (and so this library's) run on glibc; the policy tunes glibc's malloc only. */
    private static boolean linux() {
        return System.getProperty("os.name").startsWith("Linux");
    }

    @Test
    void freedTensorMemoryIsReusedWithoutPageFaults() {
        assumeTrue(linux(), "the retain policy tunes glibc's malloc only");
        long fewest = Long.MAX_VALUE;   // the JVM's own threads fault pages now and then; the heap's would every round
        List<Long> rounds = new ArrayList<>();
        for (int round = 0; round < 10; round++) {
            long before = Memory.minorPageFaults();
            try (PointerScope scope = new PointerScope()) {
                List<Tensor> blocks = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    blocks.add(torch.ones(1L << 19));   // 2 MiB of float32, every page written
                }
                assertEquals(16.0 * (1L << 19), blocks.stream().mapToDouble(b -> b.sum().item_double()).sum());
            }
            long pages = Memory.minorPageFaults() - before;
            rounds.add(pages);
            if (round >= 2) {   // the first rounds grow the heap
                fewest = Math.min(fewest, pages);
            }
        }
        // 8,192 pages a round if the heap gave all the blocks back.
        assertTrue(fewest < 64, "pages faulted in per round of reallocating 32 MiB: " + rounds);
        assertEquals("retain", Memory.policy(), "the default policy is retain on glibc");
    }

    @Test
    void pageFaultsAreCounted() throws IOException {
        assumeTrue(linux(), "getrusage's fault counts are checked on Linux");
        long before = Memory.minorPageFaults();
        assertTrue(before > 0, "a running JVM has faulted pages in: " + before);
        // A fresh mapping of a new file, one byte written per page: every page is faulted in on that write (a tensor
        // would not do here: with freed memory kept, it may reuse pages faulted in long before).
        Path file = Files.createTempFile("incontext-faults", ".bin");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            int pages = 2048;
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, pages * 4096L);
            for (int i = 0; i < pages; i++) {
                map.put(i * 4096, (byte) 1);
            }
            long faulted = Memory.minorPageFaults() - before;
            assertTrue(faulted >= pages / 2, "writing " + pages + " fresh pages counted " + faulted + " faults");
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void aBadPolicyIsRefusedByName() {
        WithProperty.run(Memory.PROPERTY, "jemalloc", () -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Memory::configure);
            assertTrue(e.getMessage().contains("incontext.malloc must be retain or system, got 'jemalloc'"),
                    e.getMessage());
        });
    }
}
