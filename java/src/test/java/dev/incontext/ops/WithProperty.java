package dev.incontext.ops;

/** Runs a check with a system property set (or cleared, for null) and puts the property back as it was. */
public final class WithProperty {
    private WithProperty() {}

    public static void run(String key, String value, Runnable check) {
        String before = System.getProperty(key);
        set(key, value);
        try {
            check.run();
        } finally {
            set(key, before);
        }
    }

    private static void set(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }
}
