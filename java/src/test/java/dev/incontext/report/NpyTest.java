package dev.incontext.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
    @TempDir
    Path tmp;

    @Test
    void threeDimensionalArrayReadsBackBitForBit() throws Exception {
        double[] v = new double[2 * 3 * 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.5 - 3;
        }
        v[1] = Double.NaN;
        v[2] = -0.0;
        v[3] = Double.NEGATIVE_INFINITY;
        v[4] = 1e-300;
        v[5] = Math.PI;
        Path f = tmp.resolve("a.npy");
        Npy.write(f, v, 2, 3, 4);
        NpyFile r = NpyFile.read(f);
        assertEquals("<f8", r.descr());
        assertFalse(r.fortranOrder());
        assertArrayEquals(new long[] {2, 3, 4}, r.shape());
        assertEquals("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 4), }", r.header().strip());
        for (int i = 0; i < v.length; i++) {
            assertEquals(Double.doubleToRawLongBits(v[i]), Double.doubleToRawLongBits(r.data()[i]), "element " + i);
        }
    }

    @Test
    void dataIsLittleEndianRightAfterThePaddedHeader() throws Exception {
        Path f = tmp.resolve("one.npy");
        Npy.write(f, new double[] {1.0}, 1);
        byte[] b = Files.readAllBytes(f);
        // 10 bytes of magic, version and length plus a 58-character dict and its newline: padded to 128, as NumPy does
        assertEquals(128 + 8, b.length);
        assertEquals('\n', b[127]);
        assertEquals(' ', b[126]);
        byte[] one = {0, 0, 0, 0, 0, 0, (byte) 0xf0, 0x3f};
        for (int i = 0; i < 8; i++) {
            assertEquals(one[i], b[128 + i], "byte " + i + " of 1.0");
        }
        assertTrue(new String(b, 10, 118, java.nio.charset.StandardCharsets.US_ASCII).contains("'shape': (1,)"),
                "a one-dimensional shape keeps Python's trailing comma");
    }

    @Test
    void scalarsEmptyArraysAndLongShapesKeepTheLayout() throws Exception {
        long[][] shapes = {{}, {0, 3}, {7}, {123456789, 0}, {1, 2, 3, 4, 5, 6, 7, 8, 0}};
        for (long[] shape : shapes) {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            double[] v = new double[(int) n];
            for (int i = 0; i < v.length; i++) {
                v[i] = i + 0.25;
            }
            Path f = tmp.resolve("s" + shape.length + ".npy");
            Npy.write(f, v, shape);
            NpyFile r = NpyFile.read(f);
            assertArrayEquals(shape, r.shape());
            assertArrayEquals(v, r.data());
        }
        // every header length from short to long pads to 64
        for (int dims = 0; dims < 20; dims++) {
            long[] shape = new long[dims];
            java.util.Arrays.fill(shape, 1000);
            if (dims > 0) {
                shape[0] = 0;
            }
            assertEquals(0, Npy.header(shape).length % Npy.ALIGN, dims + " dimensions");
        }
    }

    @Test
    void aShapeThatDoesNotMatchTheDataIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> Npy.write(tmp.resolve("x.npy"), new double[5], 2, 3));
        assertTrue(e.getMessage().contains("holds 6 values but 5 were given"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Npy.write(tmp.resolve("y.npy"), new double[0], -1, 0));
    }
}
