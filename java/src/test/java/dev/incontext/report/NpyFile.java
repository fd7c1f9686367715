package dev.incontext.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of float64 NPY 1.0 files for the tests, written from the format description independently of
 * {@link Npy}: checks the magic, version, the header's 64-byte alignment and closing newline, parses the header dict
 * (descr, fortran_order, shape) and reads exactly the data the shape calls for.
 */
record NpyFile(String header, String descr, boolean fortranOrder, long[] shape, double[] data) {
    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order':\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    static NpyFile read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[6];
        b.get(magic);
        assertEquals((byte) 0x93, magic[0], "magic byte");
        assertEquals("NUMPY", new String(magic, 1, 5, StandardCharsets.US_ASCII), "magic string");
        assertEquals(1, b.get(), "major version");
        assertEquals(0, b.get(), "minor version");
        int len = Short.toUnsignedInt(b.getShort());
        assertEquals(0, (10 + len) % 64, "magic + version + length + header must fill a multiple of 64 bytes");
        String header = new String(all, 10, len, StandardCharsets.US_ASCII);
        assertTrue(header.endsWith("\n"), "header ends with a newline");
        assertTrue(header.startsWith("{") && header.strip().endsWith("}"), "header is a dict: " + header);
        Matcher d = DESCR.matcher(header);
        Matcher f = FORTRAN.matcher(header);
        Matcher s = SHAPE.matcher(header);
        assertTrue(d.find() && f.find() && s.find(), "header has descr, fortran_order and shape: " + header);
        String dims = s.group(1).strip();
        long[] shape;
        if (dims.isEmpty()) {
            shape = new long[0];
        } else {
            assertTrue(dims.contains(","), "a shape tuple always has a comma in Python: (" + dims + ")");
            String[] parts = dims.split(",");
            shape = new long[parts.length];
            for (int i = 0; i < parts.length; i++) {
                shape[i] = Long.parseLong(parts[i].strip());
            }
        }
        long n = 1;
        for (long x : shape) {
            n *= x;
        }
        assertEquals(10 + len + 8 * n, all.length, "file size for shape " + dims);
        double[] data = new double[(int) n];
        b.position(10 + len);
        for (int i = 0; i < n; i++) {
            data[i] = b.getDouble();
        }
        return new NpyFile(header, d.group(1), f.group(1).equals("True"), shape, data);
    }
}
