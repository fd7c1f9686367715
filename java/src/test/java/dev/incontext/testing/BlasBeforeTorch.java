package dev.incontext.testing;

import dev.incontext.ops.Blas;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Chooses the BLAS before any test touches libtorch (registered in META-INF/services), so that the tests run the
 * matrix products on the library the CLI uses whichever test class happens to load libtorch first.
 */
public final class BlasBeforeTorch implements LauncherSessionListener {
    @Override
    public void launcherSessionOpened(LauncherSession session) {
        Blas.select();
    }
}
