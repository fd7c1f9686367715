package dev.incontext.util;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The project's one way of writing and reading JSON (Jackson databind). JSON has no NaN or infinity, so
 * {@link #finite} turns a non-finite number into null before it is written: a reader would refuse the whole file.
 */
public final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {}

    /** One line of JSON (maps, lists, strings, numbers, booleans, arrays), non-finite numbers as null. */
    public static String line(Object value) {
        try {
            return MAPPER.writeValueAsString(finite(value));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** Indented JSON, non-finite numbers as null. */
    public static String pretty(Object value) {
        try {
            return PRETTY.writeValueAsString(finite(value)) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** {@code v} to 8 significant digits (as reports print numbers), or null when it is not finite. */
    public static BigDecimal sig8(double v) {
        return Double.isFinite(v) ? new BigDecimal(v).round(EIGHT).stripTrailingZeros() : null;
    }

    /** Every value to 8 significant digits, non-finite ones as null. */
    public static List<BigDecimal> sig8(double[] v) {
        List<BigDecimal> out = new ArrayList<>(v.length);
        for (double x : v) {
            out.add(sig8(x));
        }
        return out;
    }

    private static final MathContext EIGHT = new MathContext(8);

    /** Parses JSON text; a malformed text is an {@link IllegalArgumentException} naming where. */
    public static JsonNode parse(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * A number read back from JSON this class wrote: NaN where it wrote null (a non-finite value), where the field is
     * missing, or where it holds no number. {@code JsonNode.asDouble()} would read all three as 0.
     */
    public static double number(JsonNode node) {
        return node != null && node.isNumber() ? node.doubleValue() : Double.NaN;
    }

    /** {@code value} with every non-finite double (also inside maps, lists and double arrays) replaced by null. */
    public static Object finite(Object value) {
        if (value instanceof Double d) {
            return Double.isFinite(d) ? d : null;
        }
        if (value instanceof Float f) {
            return Float.isFinite(f) ? f : null;
        }
        if (value instanceof double[] a) {
            Double[] out = new Double[a.length];
            for (int i = 0; i < a.length; i++) {
                out[i] = Double.isFinite(a[i]) ? a[i] : null;
            }
            return out;
        }
        if (value instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put(k, finite(v)));
            return out;
        }
        if (value instanceof List<?> l) {
            return l.stream().map(Json::finite).toList();
        }
        return value;
    }
}
