package dev.incontext.sweep.testing;

import dev.incontext.ops.Blas;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Chooses the BLAS before any test of this module touches libtorch (registered in META-INF/services), as the
 * library's own tests and the CLI do: otherwise whichever test loads libtorch first decides, and a serial rerun in
 * this JVM ran OpenBLAS while the Spark executors it is compared with ran MKL.
 */
public final class BlasBeforeTorch implements LauncherSessionListener {
    @Override
    public void launcherSessionOpened(LauncherSession session) {
        Blas.select();
    }
}
