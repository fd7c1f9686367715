package dev.incontext.ops;

import java.util.Locale;
import java.util.Set;
import org.bytedeco.javacpp.Loader;

/**
 * Which BLAS runs libtorch's CPU matrix products. The JavaCPP libtorch links OpenBLAS; its OpenBLAS preset can load
 * Intel MKL in its place (system property {@code org.bytedeco.openblas.load=mkl_rt}), and MKL's redistributable
 * comes from Maven Central with this library. MKL is the default where it is on the class path (Linux x86-64): the
 * PyTorch wheels use it too, and a training step from Java kept up with Python only with it
 * (benchmarks/results/train-step-cpu.md). {@code -Dincontext.blas=openblas} (or {@code INCONTEXT_BLAS=openblas}
 * with the launcher) keeps OpenBLAS; a run's config can ask for either ({@code training.blas}, applied by
 * {@link #prefer(String)} before libtorch loads), and an explicit property or environment variable wins over it.
 *
 * <p>The choice happens when libtorch first loads, so it must come before any other use of
 * {@code org.bytedeco.pytorch}: the CLI and {@link NativeLibrary#load()} call {@link #select()} first; an
 * application that touches libtorch earlier sets {@code -Dorg.bytedeco.openblas.load=mkl_rt} itself.
 */
public final class Blas {
    /** The system property naming the BLAS: {@code mkl} (default where available) or {@code openblas}. */
    public static final String PROPERTY = "incontext.blas";
    /** JavaCPP's property: the library its OpenBLAS preset loads in OpenBLAS's place. */
    public static final String JAVACPP_PROPERTY = "org.bytedeco.openblas.load";
    private static final String MKL_RESOURCE = "/org/bytedeco/mkl/linux-x86_64/libmkl_rt.so.2";

    static volatile String threadingLayer = "";

    private Blas() {}

    /**
     * Chooses MKL for libtorch's matrix products unless {@code incontext.blas=openblas}, JavaCPP's own property is
     * already set, or MKL's libraries are not on the class path. Without effect once libtorch has loaded.
     *
     * @throws IllegalArgumentException when {@code incontext.blas} names neither mkl nor openblas
     */
    public static synchronized void select() {
        String wanted = System.getProperty(PROPERTY, "mkl").trim().toLowerCase(Locale.ROOT);
        if (!wanted.equals("mkl") && !wanted.equals("openblas")) {
            throw new IllegalArgumentException(PROPERTY + " must be mkl or openblas, got '" + wanted + "'");
        }
        if (System.getProperty(JAVACPP_PROPERTY) != null || wanted.equals("openblas") || !mklAvailable()) {
            return;
        }
        Set<String> loaded = Loader.getLoadedLibraries().keySet();
        if (loaded.stream().anyMatch(k -> k.startsWith("jniopenblas"))) {
            // libtorch has loaded already, with whatever BLAS it found: asking now would change nothing, and the
            // property would then claim a BLAS this process does not run (Spark executors copy the truth instead).
            if (!warned && loaded.stream().noneMatch(k -> k.startsWith("mkl_rt"))) {
                warned = true;
                System.err.println("incontext: libtorch was loaded before dev.incontext.ops.Blas.select(), so its "
                        + "matrix products run on OpenBLAS, not MKL; start the JVM with -D" + JAVACPP_PROPERTY
                        + "=mkl_rt (or call Blas.select() first) for MKL, or -D" + PROPERTY + "=openblas to keep "
                        + "OpenBLAS without this message");
            }
            return;
        }
        System.setProperty(JAVACPP_PROPERTY, "mkl_rt");
        mklByDefault = System.getProperty(PROPERTY) == null;
    }

    private static boolean warned;
    /** Whether {@link #select()} chose MKL only because nothing asked for a BLAS (so a run's config may still). */
    private static boolean mklByDefault;

    /**
     * Applies a run's choice of BLAS ({@code training.blas}): {@code auto} keeps the process's; {@code mkl} or
     * {@code openblas} takes effect when libtorch has not loaded yet and neither {@code -Dincontext.blas} nor
     * {@code INCONTEXT_BLAS} (through the launcher) chose one. Returns a sentence saying why the choice did not take
     * effect when it could not and the process runs the other BLAS, else null.
     */
    public static synchronized String prefer(String wanted) {
        if (wanted.equals("auto")) {
            return null;
        }
        if (!wanted.equals("mkl") && !wanted.equals("openblas")) {
            throw new IllegalArgumentException("training.blas must be auto, mkl or openblas; got '" + wanted + "'");
        }
        boolean loaded = Loader.getLoadedLibraries().keySet().stream().anyMatch(k -> k.startsWith("jniopenblas"));
        boolean chosenElsewhere = System.getProperty(PROPERTY) != null
                || (System.getProperty(JAVACPP_PROPERTY) != null && !mklByDefault);
        if (!loaded && !chosenElsewhere) {
            if (wanted.equals("openblas")) {
                System.clearProperty(JAVACPP_PROPERTY);
            } else if (mklAvailable()) {
                System.setProperty(JAVACPP_PROPERTY, "mkl_rt");
            }
            mklByDefault = false;
            System.setProperty(PROPERTY, wanted);
            return null;
        }
        boolean mkl = loaded ? isMkl() : System.getProperty(JAVACPP_PROPERTY) != null;
        if (mkl == wanted.equals("mkl")) {
            return null;
        }
        return "training.blas is " + wanted + ", but this process runs libtorch's matrix products on "
                + (mkl ? "MKL" : "OpenBLAS") + (loaded ? " (libtorch had loaded before the config was read: the BLAS "
                + "is chosen once per process)" : " (chosen by -D" + PROPERTY + " or INCONTEXT_BLAS, which win over "
                + "the config)");
    }

    /** Whether MKL's redistributable libraries for this platform are on the class path. */
    public static boolean mklAvailable() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        return os.contains("linux") && (arch.equals("amd64") || arch.equals("x86_64"))
                && Blas.class.getResource(MKL_RESOURCE) != null;
    }

    /** The BLAS in use, as its own version string says (MKL's or OpenBLAS's). */
    public static String library() {
        NativeLibrary.load();
        return NativeOps.blas_library();
    }

    /** Whether MKL runs the matrix products in this process (loads the native library). */
    public static boolean isMkl() {
        return !threadingLayer().isEmpty();
    }

    /** MKL's threading layer in use ("gnu": libtorch's OpenMP pool), or "" under OpenBLAS. */
    public static String threadingLayer() {
        NativeLibrary.load();
        return threadingLayer;
    }

    /** One line for benchmark and diagnostic output, e.g. "MKL 2025.3 (threading: gnu)". */
    public static String describe() {
        String lib = library();
        String layer = threadingLayer();
        return layer.isEmpty() ? lib : lib + " (threading: " + layer + ")";
    }
}
