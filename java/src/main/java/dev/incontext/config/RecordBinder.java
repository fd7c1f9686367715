package dev.incontext.config;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Binds nested maps (parsed YAML, snake_case keys) to immutable config records (camelCase components) and back.
 * Every component must be present; an unknown key fails naming it and listing the valid ones; an enum value is
 * matched case-insensitively and an unknown one lists the choices. Validation errors thrown by a record's compact
 * constructor are reported with the record's path prefixed.
 */
public final class RecordBinder {
    private RecordBinder() {}

    public static String snake(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
    }

    public static <R extends Record> R bind(Class<R> type, Object value, String path) {
        if (!(value instanceof Map<?, ?> map)) {
            throw new ConfigException(path, "expected a mapping of " + keys(type) + "; got " + describe(value));
        }
        RecordComponent[] components = type.getRecordComponents();
        List<String> valid = keyList(type);
        for (Object k : map.keySet()) {
            if (!valid.contains(String.valueOf(k))) {
                throw new ConfigException(join(path, String.valueOf(k)),
                        "unknown key; valid keys here are " + String.join(", ", valid));
            }
        }
        Object[] args = new Object[components.length];
        Class<?>[] types = new Class<?>[components.length];
        for (int i = 0; i < components.length; i++) {
            types[i] = components[i].getType();
            if (flattened(components[i])) {
                // Its keys sit in this mapping: bind it to the part of the mapping that is its own.
                @SuppressWarnings("unchecked")
                Class<? extends Record> sub = (Class<? extends Record>) components[i].getType();
                Map<Object, Object> own = new LinkedHashMap<>();
                for (String k : keyList(sub)) {
                    if (map.containsKey(k)) {
                        own.put(k, map.get(k));
                    }
                }
                args[i] = bind(sub, own, path);
                continue;
            }
            String key = snake(components[i].getName());
            String sub = join(path, key);
            if (!map.containsKey(key)) {
                throw new ConfigException(sub, "missing (no default either)");
            }
            args[i] = convert(components[i].getGenericType(), map.get(key), sub);
        }
        try {
            Constructor<R> ctor = type.getDeclaredConstructor(types);
            return ctor.newInstance(args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof ConfigException ce) {
                throw new ConfigException(join(path, ce.key()), stripKey(ce.getMessage(), ce.key()));
            }
            if (cause instanceof IllegalArgumentException iae) {
                throw new ConfigException(path, iae.getMessage());
            }
            throw new IllegalStateException("could not build " + type.getSimpleName(), cause);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("config record " + type.getName() + " is not bindable", e);
        }
    }

    private static String stripKey(String message, String key) {
        return message.startsWith(key + ": ") ? message.substring(key.length() + 2) : message;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object convert(Type generic, Object value, String path) {
        Class<?> raw = generic instanceof ParameterizedType p ? (Class<?>) p.getRawType() : (Class<?>) generic;
        if (value instanceof OverrideValue v) {
            if (raw == String.class) {
                return v.text();   // verbatim: a path's '#' or ': ' is not YAML
            }
            value = v.parsed(path);
        }
        if (value == null) {
            throw new ConfigException(path, "must have a value");
        }
        if (raw == int.class || raw == Integer.class) {
            long l = asLong(value, path);
            if (l != (int) l) {
                throw new ConfigException(path, "out of range for an int: " + value);
            }
            return (int) l;
        }
        if (raw == long.class || raw == Long.class) {
            return asLong(value, path);
        }
        if (raw == double.class || raw == Double.class) {
            double d;
            if (value instanceof Number n) {
                d = n.doubleValue();
            } else {
                try {
                    d = Double.parseDouble(String.valueOf(value));
                } catch (NumberFormatException e) {
                    throw new ConfigException(path, "expected a number; got " + describe(value));
                }
            }
            if (!Double.isFinite(d)) {
                throw new ConfigException(path, "must be a finite number; got " + describe(value));
            }
            return d;
        }
        if (raw == boolean.class || raw == Boolean.class) {
            if (value instanceof Boolean b) {
                return b;
            }
            throw new ConfigException(path, "expected true or false; got " + describe(value));
        }
        if (raw == String.class) {
            if (value instanceof Map || value instanceof List) {
                throw new ConfigException(path, "expected a string; got " + describe(value));
            }
            return String.valueOf(value);
        }
        if (raw.isEnum()) {
            String s = String.valueOf(value).toUpperCase(Locale.ROOT).replace('-', '_');
            for (Object c : raw.getEnumConstants()) {
                if (((Enum<?>) c).name().equals(s)) {
                    return c;
                }
            }
            throw new ConfigException(path, "unknown value '" + value + "'; valid values are " + Arrays.stream(
                    raw.getEnumConstants()).map(c -> ((Enum<?>) c).name().toLowerCase(Locale.ROOT))
                    .collect(Collectors.joining(", ")));
        }
        if (raw.isRecord()) {
            return bind((Class<? extends Record>) raw, value, path);
        }
        if (raw == List.class) {
            if (!(value instanceof List<?> list)) {
                throw new ConfigException(path, "expected a list; got " + describe(value));
            }
            Type element = ((ParameterizedType) generic).getActualTypeArguments()[0];
            List<Object> out = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                out.add(convert(element, list.get(i), path + "[" + i + "]"));
            }
            return List.copyOf(out);
        }
        throw new IllegalStateException("unsupported config type " + generic + " at " + path);
    }

    private static long asLong(Object value, String path) {
        if (value instanceof Integer || value instanceof Long) {
            return ((Number) value).longValue();
        }
        if (value instanceof Double d && d == Math.rint(d) && Math.abs(d) < 0x1p63) {
            return d.longValue();
        }
        if (value instanceof Number) {
            throw new ConfigException(path, "expected an integer in -2^63..2^63-1; got " + describe(value));
        }
        throw new ConfigException(path, "expected an integer; got " + describe(value));
    }

    /**
     * A copy of {@code record} with the components named in {@code changes} (snake_case keys, as in YAML) replaced,
     * validated like any bound config: no positional constructor call that a new component would break.
     */
    @SuppressWarnings("unchecked")
    public static <R extends Record> R with(R record, Map<String, Object> changes) {
        Map<String, Object> m = toMap(record);
        for (Map.Entry<String, Object> e : changes.entrySet()) {
            if (!m.containsKey(e.getKey())) {
                throw new IllegalArgumentException("no component '" + e.getKey() + "' in " + record.getClass()
                        .getSimpleName() + "; valid: " + String.join(", ", m.keySet()));
            }
            m.put(e.getKey(), e.getValue());
        }
        return bind((Class<R>) record.getClass(), m, "");
    }

    /**
     * The record as nested maps with snake_case keys (enums lower-case), ready to be written as YAML; a
     * {@link Flattened} component's keys are put in the record's own mapping.
     */
    public static Map<String, Object> toMap(Record record) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (RecordComponent c : record.getClass().getRecordComponents()) {
            try {
                Object v = c.getAccessor().invoke(record);
                if (flattened(c)) {
                    out.putAll(toMap((Record) v));
                } else {
                    out.put(snake(c.getName()), plain(v));
                }
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    private static boolean flattened(RecordComponent c) {
        return c.isAnnotationPresent(Flattened.class) && c.getType().isRecord();
    }

    /** The keys a mapping of {@code type} holds, a flattened component's own keys in its place. */
    @SuppressWarnings("unchecked")
    private static List<String> keyList(Class<? extends Record> type) {
        List<String> out = new ArrayList<>();
        for (RecordComponent c : type.getRecordComponents()) {
            if (flattened(c)) {
                out.addAll(keyList((Class<? extends Record>) c.getType()));
            } else {
                out.add(snake(c.getName()));
            }
        }
        return out;
    }

    private static Object plain(Object v) {
        if (v instanceof Record r) {
            return toMap(r);
        }
        if (v instanceof Enum<?> e) {
            return e.name().toLowerCase(Locale.ROOT);
        }
        if (v instanceof List<?> l) {
            return l.stream().map(RecordBinder::plain).collect(Collectors.toList());
        }
        return v;
    }

    static String keys(Class<? extends Record> type) {
        return keyList(type).stream().collect(Collectors.joining(", ", "{", "}"));
    }

    private static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private static String describe(Object v) {
        if (v == null) {
            return "nothing";
        }
        if (v instanceof Map) {
            return "a mapping";
        }
        if (v instanceof List) {
            return "a list";
        }
        return "'" + v + "'";
    }
}
