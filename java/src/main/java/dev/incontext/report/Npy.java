package dev.incontext.report;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Writes NumPy's {@code .npy} format, version 1.0, so {@code numpy.load} reads a Java array without any Java on the
 * reading side. The layout, from NumPy's public format description: the magic bytes {@code \x93NUMPY}, the version
 * (1, 0), a little-endian uint16 header length, then an ASCII header that is a Python dict literal
 * ({@code {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }}) padded with spaces and ended by a newline so
 * that magic + version + length + header fill a multiple of 64 bytes, then the data: float64, little-endian, C order
 * (the last index varies fastest, as in a Java array flattened row by row).
 */
public final class Npy {
    /** Everything before the data is padded to a multiple of this many bytes (NumPy aligns its data so). */
    public static final int ALIGN = 64;
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    private Npy() {}

    /**
     * Writes {@code data} as a float64 array of {@code shape} (no dimensions: a scalar of one value). The product of
     * the shape must equal {@code data.length}.
     */
    public static void write(Path file, double[] data, long... shape) throws IOException {
        long count = 1;
        for (long s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("npy " + file.getFileName() + ": negative dimension in shape "
                        + Arrays.toString(shape));
            }
            count = Math.multiplyExact(count, s);
        }
        if (count != data.length) {
            throw new IllegalArgumentException("npy " + file.getFileName() + ": shape " + Arrays.toString(shape)
                    + " holds " + count + " values but " + data.length + " were given");
        }
        byte[] header = header(shape);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(header);
            ByteBuffer buf = ByteBuffer.allocate(8 * 8192).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < data.length; i += 8192) {
                buf.clear();
                int end = Math.min(data.length, i + 8192);
                for (int j = i; j < end; j++) {
                    buf.putDouble(data[j]);
                }
                out.write(buf.array(), 0, buf.position());
            }
        }
    }

    /** Magic, version, header length and the padded header dict: all the bytes before the data. */
    static byte[] header(long... shape) {
        StringBuilder dims = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            dims.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        // a one-element tuple needs its trailing comma in Python: (5,) and not (5)
        dims.append(shape.length == 1 ? ",)" : ")");
        String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': " + dims + ", }";
        int prefix = MAGIC.length + 2 + 2;
        int unpadded = prefix + dict.length() + 1;
        int total = (unpadded + ALIGN - 1) / ALIGN * ALIGN;
        int headerLen = total - prefix;
        if (headerLen > 0xffff) {
            throw new IllegalArgumentException("npy: a shape of " + shape.length + " dimensions does not fit a "
                    + "version 1.0 header");
        }
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) headerLen);
        b.put(dict.getBytes(StandardCharsets.US_ASCII));
        while (b.position() < total - 1) {
            b.put((byte) ' ');
        }
        b.put((byte) '\n');
        return b.array();
    }
}
