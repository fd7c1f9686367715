package dev.incontext.ops;

/**
 * Loads libtorch and the project's native ops once, turning a missing or broken library into one message that
 * says what to do.
 */
public final class NativeLibrary {
    private static volatile boolean loaded;

    private NativeLibrary() {}

    /** Loads the libraries if needed. @throws IllegalStateException naming what is missing and how to build it */
    public static void load() {
        if (loaded) {
            return;
        }
        synchronized (NativeLibrary.class) {
            if (loaded) {
                return;
            }
            Blas.select();
            try {
                Class.forName(NativeOps.class.getName(), true, NativeOps.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                Throwable cause = e instanceof ExceptionInInitializerError && e.getCause() != null ? e.getCause() : e;
                throw new IllegalStateException("incontext: could not load the native ops library "
                        + "(libincontext_ops.so and its JNI glue libjniNativeOps.so, next to "
                        + NativeOps.class.getName().replace('.', '/') + " on the class path): " + cause
                        + ". Build them from the project root with `mvn -DskipTests package` (needs cmake >= 3.22, "
                        + "g++ with C++20, and python3 with pip to fetch the libtorch headers; see README.md).", cause);
            }
            Blas.threadingLayer = NativeOps.configure_blas();
            Memory.configure();
            loaded = true;
        }
    }
}
