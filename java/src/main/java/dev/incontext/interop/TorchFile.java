package dev.incontext.interop;

import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Files of PyTorch's {@code torch.save} (the zip format of PyTorch 1.6 and later: {@code <name>/data.pkl}, a pickle
 * whose tensors point at raw storages {@code <name>/data/<key>}), read and written in Java: no Python, and none of the
 * file's code runs. The pickle is interpreted by a small machine that knows the opcodes of protocols 2 to 5 and the
 * few callables a state dict needs ({@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2},
 * {@code _rebuild_parameter}); any other callable becomes an {@link Opaque} value, so an optimiser's state saved beside
 * the weights reads without error and is never executed. Storages are read whatever device they were saved from
 * (a checkpoint written on a GPU loads on the CPU).
 *
 * <p>libtorch's own {@code torch::pickle_load} (mapped by the preset) restores tensors onto the device named in the
 * file, so it cannot read a checkpoint saved from CUDA on a machine without one; hence this reader.
 */
public final class TorchFile implements AutoCloseable {
    /** A Python tuple. */
    public record Tuple(List<Object> items) {}

    /** A value this reader does not construct: the callable's qualified name and its arguments. */
    public record Opaque(String callable, Object args) {}

    /** A Python global (module.name) before it is called. */
    record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    private record Storage(ScalarType dtype, int elementSize, String key) {}

    /** A tensor of the file, read from its storage on demand ({@link #toTensor}). */
    public final class StoredTensor {
        private final Storage storage;
        private final long offset;
        private final long[] size;
        private final long[] stride;

        private StoredTensor(Storage storage, long offset, long[] size, long[] stride) {
            this.storage = storage;
            this.offset = offset;
            this.size = size;
            this.stride = stride;
        }

        public long[] size() {
            return size.clone();
        }

        public ScalarType dtype() {
            return storage.dtype;
        }

        /** The tensor on the CPU in its stored dtype, contiguous, owning its memory. */
        public Tensor toTensor() throws IOException {
            byte[] bytes = storageBytes(storage.key);
            long numel = bytes.length / storage.elementSize;
            long needed = offset;
            for (int i = 0; i < size.length; i++) {
                needed += size[i] == 0 ? 0 : (size[i] - 1) * stride[i];
            }
            if (numel == 0 ? Arrays.stream(size).reduce(1, (a, b) -> a * b) != 0 : needed >= numel) {
                throw new IOException(file + ": a tensor of shape " + Arrays.toString(size) + " reaches past the end "
                        + "of its storage " + storage.key + " (" + numel + " elements); the file is damaged");
            }
            try (BytePointer p = new BytePointer(bytes)) {
                TensorOptions o = new TensorOptions().dtype(new ScalarTypeOptional(storage.dtype));
                Tensor flat = torch.from_blob(p, new long[] {numel}, o);
                return torch.as_strided(flat, size, stride, new org.bytedeco.pytorch.LongOptional(offset)).clone();
            }
        }
    }

    private final Path file;
    private final ZipFile zip;
    private final String prefix;
    private final Object root;

    private TorchFile(Path file, ZipFile zip, String prefix) throws IOException {
        this.file = file;
        this.zip = zip;
        this.prefix = prefix;
        ZipEntry order = zip.getEntry(prefix + "byteorder");
        if (order != null) {
            String o = new String(read(order), StandardCharsets.US_ASCII).strip();
            if (!o.equals("little")) {
                throw new IOException(file + " stores its tensors " + o + "-endian; only little-endian files are read");
            }
        }
        this.root = new Unpickler(read(zip.getEntry(prefix + "data.pkl"))).load();
    }

    /**
     * Opens a torch.save file and interprets its pickle; tensors are read from the file when asked
     * ({@link StoredTensor#toTensor}), so close it after.
     */
    public static TorchFile open(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("no such file: " + file);
        }
        byte[] magic = new byte[2];
        try (InputStream in = Files.newInputStream(file)) {
            if (in.readNBytes(magic, 0, 2) < 2 || magic[0] != 'P' || magic[1] != 'K') {
                throw new IOException(file + " is not a torch.save zip file" + (magic[0] == (byte) 0x80
                        ? " (it looks like PyTorch's legacy format of before 1.6: load it in Python and save it again "
                        + "with torch.save, which writes the zip format)" : ""));
            }
        }
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException e) {
            throw new IOException(file + " is not a readable zip file (" + e.getMessage() + ")", e);
        }
        try {
            String prefix = null;
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                String n = en.nextElement().getName();
                if (n.endsWith("data.pkl") && (n.equals("data.pkl") || n.endsWith("/data.pkl"))
                        && n.indexOf('/') == n.lastIndexOf('/')) {
                    prefix = n.substring(0, n.length() - "data.pkl".length());
                    break;
                }
            }
            if (prefix == null) {
                throw new IOException(file + " is a zip file but not a torch.save file (no data.pkl in it)");
            }
            return new TorchFile(file, zip, prefix);
        } catch (IOException | RuntimeException e) {
            zip.close();
            throw e;
        }
    }

    /** The unpickled object: maps, lists, {@link Tuple}s, strings, numbers, booleans, null, tensors, opaque values. */
    public Object root() {
        return root;
    }

    public Path path() {
        return file;
    }

    @Override
    public void close() throws IOException {
        zip.close();
    }

    private byte[] storageBytes(String key) throws IOException {
        ZipEntry e = zip.getEntry(prefix + "data/" + key);
        if (e == null) {
            throw new IOException(file + " is damaged: storage " + key + " is missing");
        }
        return read(e);
    }

    private byte[] read(ZipEntry e) throws IOException {
        try (InputStream in = zip.getInputStream(e)) {
            return in.readAllBytes();
        }
    }

    private static final Map<String, ScalarType> STORAGES = Map.ofEntries(
            Map.entry("FloatStorage", ScalarType.Float), Map.entry("DoubleStorage", ScalarType.Double),
            Map.entry("HalfStorage", ScalarType.Half), Map.entry("BFloat16Storage", ScalarType.BFloat16),
            Map.entry("LongStorage", ScalarType.Long), Map.entry("IntStorage", ScalarType.Int),
            Map.entry("ShortStorage", ScalarType.Short), Map.entry("CharStorage", ScalarType.Char),
            Map.entry("ByteStorage", ScalarType.Byte), Map.entry("BoolStorage", ScalarType.Bool));

    private static int elementSize(ScalarType t) {
        return switch (t) {
            case Double, Long -> 8;
            case Float, Int -> 4;
            case Half, BFloat16, Short -> 2;
            default -> 1;
        };
    }

    /** The pickle machine: a stack, a mark stack and a memo; see the class comment for what it constructs. */
    private final class Unpickler {
        private final ByteBuffer in;
        private final ArrayList<Object> stack = new ArrayList<>();
        private final Deque<ArrayList<Object>> marks = new ArrayDeque<>();
        private final Map<Long, Object> memo = new HashMap<>();
        private final Map<String, Storage> storages = new HashMap<>();
        private ArrayList<Object> current = stack;

        Unpickler(byte[] data) {
            this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        }

        Object load() throws IOException {
            try {
                while (true) {
                    int op = in.get() & 0xff;
                    switch (op) {
                        case 0x80 -> in.get();                                   // PROTO
                        case 0x95 -> in.getLong();                               // FRAME
                        case '}' -> push(new LinkedHashMap<Object, Object>());
                        case ']' -> push(new ArrayList<Object>());
                        case ')' -> push(new Tuple(List.of()));
                        case 0x8f -> push(new ArrayList<Object>());              // EMPTY_SET
                        case '(' -> {
                            marks.push(current);
                            current = new ArrayList<>();
                        }
                        case 'u' -> {
                            List<Object> items = popMark();
                            Map<Object, Object> m = map(top());
                            for (int i = 0; i + 1 < items.size(); i += 2) {
                                m.put(key(items.get(i)), items.get(i + 1));
                            }
                        }
                        case 's' -> {
                            Object v = pop();
                            Object k = pop();
                            map(top()).put(key(k), v);
                        }
                        case 'e', 0x90 -> {                                      // APPENDS, ADDITEMS
                            List<Object> items = popMark();
                            list(top()).addAll(items);
                        }
                        case 'a' -> {
                            Object v = pop();
                            list(top()).add(v);
                        }
                        case 't' -> push(new Tuple(nullSafe(popMark())));
                        case 0x91 -> push(new ArrayList<>(popMark()));            // FROZENSET
                        case 0x85 -> push(tuple(1));
                        case 0x86 -> push(tuple(2));
                        case 0x87 -> push(tuple(3));
                        case 'X' -> push(string(Integer.toUnsignedLong(in.getInt()), StandardCharsets.UTF_8));
                        case 0x8c -> push(string(in.get() & 0xff, StandardCharsets.UTF_8));
                        case 0x8d -> push(string(in.getLong(), StandardCharsets.UTF_8));
                        case 'T' -> push(string(Integer.toUnsignedLong(in.getInt()), StandardCharsets.ISO_8859_1));
                        case 'U' -> push(string(in.get() & 0xff, StandardCharsets.ISO_8859_1));
                        case 'B' -> push(bytes(Integer.toUnsignedLong(in.getInt())));
                        case 'C' -> push(bytes(in.get() & 0xff));
                        case 0x8e -> push(bytes(in.getLong()));
                        case 0x96 -> push(bytes(in.getLong()));                  // BYTEARRAY8
                        case 'q' -> memo.put((long) (in.get() & 0xff), top());
                        case 'r' -> memo.put(Integer.toUnsignedLong(in.getInt()), top());
                        case 0x94 -> memo.put((long) memo.size(), top());        // MEMOIZE
                        case 'h' -> push(memo(in.get() & 0xff));
                        case 'j' -> push(memo(Integer.toUnsignedLong(in.getInt())));
                        case 'c' -> push(new Global(line(), line()));
                        case 0x93 -> {                                           // STACK_GLOBAL
                            Object name = pop();
                            Object module = pop();
                            push(new Global(String.valueOf(module), String.valueOf(name)));
                        }
                        case 'R', 0x81 -> {                                      // REDUCE, NEWOBJ
                            Object args = pop();
                            Object callable = pop();
                            push(call(callable, args));
                        }
                        case 0x92 -> {                                           // NEWOBJ_EX
                            pop();
                            Object args = pop();
                            Object callable = pop();
                            push(call(callable, args));
                        }
                        case 'b' -> pop();                                       // BUILD: state is not needed
                        case 'Q' -> push(persistent(pop()));
                        case 'J' -> push((long) in.getInt());
                        case 'K' -> push((long) (in.get() & 0xff));
                        case 'M' -> push((long) (in.getShort() & 0xffff));
                        case 0x8a -> push(longN(in.get() & 0xff));
                        case 0x8b -> push(longN(in.getInt()));
                        case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong())));
                        case 0x88 -> push(Boolean.TRUE);
                        case 0x89 -> push(Boolean.FALSE);
                        case 'N' -> push(null);
                        case '0' -> pop();
                        case '1' -> popMark();
                        case '2' -> push(top());
                        case 0x97 -> { }                                         // NEXT_BUFFER etc. are not used
                        case '.' -> {
                            return pop();
                        }
                        default -> throw new IOException(file + ": unsupported pickle opcode 0x"
                                + Integer.toHexString(op) + " at byte " + (in.position() - 1)
                                + " (not written by torch.save)");
                    }
                }
            } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException | ClassCastException
                    | java.util.NoSuchElementException e) {
                throw new IOException(file + ": its data.pkl is damaged or not a torch.save pickle (" + e + ")", e);
            }
        }

        private void push(Object o) {
            current.add(o);
        }

        private Object pop() {
            return current.remove(current.size() - 1);
        }

        private Object top() {
            return current.get(current.size() - 1);
        }

        private List<Object> popMark() {
            List<Object> items = current;
            current = marks.pop();
            return items;
        }

        private Tuple tuple(int n) {
            Object[] items = new Object[n];
            for (int i = n - 1; i >= 0; i--) {
                items[i] = pop();
            }
            return new Tuple(nullSafe(Arrays.asList(items)));
        }

        private List<Object> nullSafe(List<Object> items) {
            return java.util.Collections.unmodifiableList(new ArrayList<>(items));
        }

        private Object memo(long i) throws IOException {
            if (!memo.containsKey(i)) {
                throw new IOException(file + ": its data.pkl refers to memo entry " + i + " before defining it");
            }
            return memo.get(i);
        }

        @SuppressWarnings("unchecked")
        private Map<Object, Object> map(Object o) throws IOException {
            if (o instanceof Map<?, ?> m) {
                return (Map<Object, Object>) m;
            }
            throw new IOException(file + ": its data.pkl sets items on a " + describe(o) + ", not a dict");
        }

        @SuppressWarnings("unchecked")
        private List<Object> list(Object o) throws IOException {
            if (o instanceof List<?> l) {
                return (List<Object>) l;
            }
            throw new IOException(file + ": its data.pkl appends to a " + describe(o) + ", not a list");
        }

        private Object key(Object k) {
            return k instanceof Tuple || k instanceof List<?> ? String.valueOf(k) : k;
        }

        private String string(long n, java.nio.charset.Charset cs) {
            return new String(bytes(n), cs);
        }

        private byte[] bytes(long n) {
            if (n > in.remaining()) {
                throw new java.nio.BufferUnderflowException();
            }
            byte[] b = new byte[(int) n];
            in.get(b);
            return b;
        }

        private String line() {
            StringBuilder s = new StringBuilder();
            byte c;
            while ((c = in.get()) != '\n') {
                s.append((char) c);
            }
            return s.toString();
        }

        private Object longN(int n) {
            byte[] le = bytes(n);
            if (n == 0) {
                return 0L;
            }
            byte[] be = new byte[n];
            for (int i = 0; i < n; i++) {
                be[i] = le[n - 1 - i];
            }
            java.math.BigInteger v = new java.math.BigInteger(be);
            return v.bitLength() < 64 ? (Object) v.longValue() : v;
        }

        private Object persistent(Object pid) throws IOException {
            if (pid instanceof Tuple t && t.items().size() >= 3 && "storage".equals(t.items().get(0))) {
                Object type = t.items().get(1);
                String key = String.valueOf(t.items().get(2));
                String typeName = type instanceof Global g ? g.name() : String.valueOf(type);
                ScalarType dtype = STORAGES.get(typeName);
                if (dtype == null) {
                    throw new IOException(file + " holds a storage of type " + typeName + ", which this reader does "
                            + "not read (it reads " + String.join(", ", new java.util.TreeSet<>(STORAGES.keySet()))
                            + ")");
                }
                return storages.computeIfAbsent(key, k -> new Storage(dtype, elementSize(dtype), k));
            }
            throw new IOException(file + ": unknown persistent reference " + describe(pid));
        }

        private Object call(Object callable, Object args) throws IOException {
            List<Object> a = args instanceof Tuple t ? t.items() : List.of();
            String name = callable instanceof Global g ? g.qualified() : describe(callable);
            switch (name) {
                case "collections.OrderedDict", "builtins.dict" -> {
                    Map<Object, Object> m = new LinkedHashMap<>();
                    if (!a.isEmpty() && a.get(0) instanceof List<?> pairs) {
                        for (Object p : pairs) {
                            if (p instanceof Tuple kv && kv.items().size() == 2) {
                                m.put(key(kv.items().get(0)), kv.items().get(1));
                            }
                        }
                    }
                    return m;
                }
                case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> {
                    if (a.size() < 4 || !(a.get(0) instanceof Storage s)) {
                        throw new IOException(file + ": " + name + " called with unexpected arguments " + a);
                    }
                    return new StoredTensor(s, asLong(a.get(1)), longs(a.get(2)), longs(a.get(3)));
                }
                case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> {
                    return a.isEmpty() ? null : a.get(0);
                }
                default -> {
                    return new Opaque(name, args);
                }
            }
        }

        private long asLong(Object o) throws IOException {
            if (o instanceof Long l) {
                return l;
            }
            throw new IOException(file + ": expected an integer in a tensor's description; got " + describe(o));
        }

        private long[] longs(Object o) throws IOException {
            if (!(o instanceof Tuple t)) {
                throw new IOException(file + ": expected a tuple of integers in a tensor's description; got "
                        + describe(o));
            }
            long[] out = new long[t.items().size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = asLong(t.items().get(i));
            }
            return out;
        }
    }

    private static String describe(Object o) {
        return o == null ? "None" : o.getClass().getSimpleName() + " " + o;
    }

    /**
     * Writes {@code tensors} as a state dict ({@code collections.OrderedDict} of name to tensor) in torch.save's zip
     * format, as float32 on the CPU; Python reads it with {@code torch.load(path)} (also with
     * {@code weights_only=True}: only an OrderedDict, tensors and FloatStorage are named in it).
     */
    public static void writeStateDict(Path file, Map<String, Tensor> tensors) throws IOException {
        ByteArrayOutputStream pkl = new ByteArrayOutputStream();
        List<float[]> storages = new ArrayList<>();
        pkl.write(new byte[] {(byte) 0x80, 2});
        global(pkl, "collections", "OrderedDict");
        pkl.write(')');
        pkl.write('R');
        pkl.write('(');
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue().detach().to(ScalarType.Float).contiguous();
            long[] size = t.sizes().vec().get();
            double[] values = dev.incontext.util.Tensors.toDoubleArray(t);   // float32 -> double -> float is exact
            float[] data = new float[values.length];
            for (int i = 0; i < data.length; i++) {
                data[i] = (float) values[i];
            }
            String key = Integer.toString(storages.size());
            storages.add(data);
            unicode(pkl, e.getKey());
            global(pkl, "torch._utils", "_rebuild_tensor_v2");
            pkl.write('(');
            pkl.write('(');
            unicode(pkl, "storage");
            global(pkl, "torch", "FloatStorage");
            unicode(pkl, key);
            unicode(pkl, "cpu");
            binint(pkl, data.length);
            pkl.write('t');
            pkl.write('Q');
            binint(pkl, 0);
            pkl.write('(');
            for (long s : size) {
                binint(pkl, s);
            }
            pkl.write('t');
            pkl.write('(');
            long stride = 1;
            long[] strides = new long[size.length];
            for (int i = size.length - 1; i >= 0; i--) {
                strides[i] = stride;
                stride *= size[i];
            }
            for (long s : strides) {
                binint(pkl, s);
            }
            pkl.write('t');
            pkl.write(0x89);                                   // requires_grad False
            global(pkl, "collections", "OrderedDict");
            pkl.write(')');
            pkl.write('R');
            pkl.write('t');
            pkl.write('R');
        }
        pkl.write('u');
        pkl.write('.');

        String name = "archive/";
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try (CountingStream count = new CountingStream(Files.newOutputStream(tmp));
             ZipOutputStream zip = new ZipOutputStream(count)) {
            stored(zip, count, name + "data.pkl", pkl.toByteArray());
            stored(zip, count, name + "byteorder", "little".getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < storages.size(); i++) {
                float[] f = storages.get(i);
                ByteBuffer b = ByteBuffer.allocate(4 * f.length).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(f);
                stored(zip, count, name + "data/" + i, b.array());
            }
            stored(zip, count, name + "version", "3\n".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** An uncompressed entry whose data starts on a 64-byte boundary, as torch.save aligns them. */
    private static void stored(ZipOutputStream zip, CountingStream count, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        e.setTime(946684800000L);   // 2000-01-01: a DOS date, so no extended-time field is added
        zip.flush();
        // local header: 30 bytes + name + extra; pad with an extra field (id "FB", as PyTorch's writer) to align data
        long headerEnd = count.written + 30 + name.getBytes(StandardCharsets.UTF_8).length + 4;
        int pad = (int) ((64 - headerEnd % 64) % 64);
        byte[] extra = new byte[4 + pad];
        extra[0] = 'F';
        extra[1] = 'B';
        extra[2] = (byte) pad;
        extra[3] = (byte) (pad >> 8);
        e.setExtra(extra);
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }

    private static final class CountingStream extends FilterOutputStream {
        long written;

        CountingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            written++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            written += len;
        }
    }

    private static void global(ByteArrayOutputStream out, String module, String name) {
        out.write('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    private static void unicode(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write('X');
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
        out.writeBytes(b);
    }

    private static void binint(ByteArrayOutputStream out, long v) {
        if (v < 0 || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor dimension out of range for this writer: " + v);
        }
        out.write('J');
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
    }
}
