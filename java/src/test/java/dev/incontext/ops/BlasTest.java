package dev.incontext.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The BLAS chosen is the BLAS that runs: a property that silently failed to apply would only show as speed. */
class BlasTest {
    @Test
    void theChosenBlasIsTheOneLoaded() {
        String lib = Blas.library();
        String chosen = System.getProperty(Blas.JAVACPP_PROPERTY, "");
        if (chosen.startsWith("mkl")) {
            assertTrue(lib.contains("Math Kernel Library"), "MKL chosen, but the BLAS in use is " + lib);
            String env = System.getenv("MKL_THREADING_LAYER");
            assertEquals(env == null ? "gnu" : env.toLowerCase(java.util.Locale.ROOT), Blas.threadingLayer(),
                    "MKL runs on libtorch's GNU OpenMP pool unless MKL_THREADING_LAYER says otherwise");
        } else {
            assertTrue(lib.startsWith("OpenBLAS"), "OpenBLAS expected, the BLAS in use is " + lib);
        }
    }

    @Test
    void mklIsTheDefaultWhereItIsAvailable() {
        // The test JVM picks the BLAS the way the CLI does (BlasBeforeTorch); on Linux x86-64 the build ships MKL (the
        // Maven profile that brings it activates there), so MKL must be found: a wrongly false mklAvailable() would
        // otherwise pass here through the OpenBLAS branch.
        boolean linuxX86 = System.getProperty("os.name").startsWith("Linux")
                && List.of("amd64", "x86_64").contains(System.getProperty("os.arch"));
        if (linuxX86) {
            assertTrue(Blas.mklAvailable(), "the Linux x86-64 build ships MKL, but it was not found");
        }
        if (Blas.mklAvailable() && !"openblas".equals(System.getProperty(Blas.PROPERTY))) {
            assertEquals("mkl_rt", System.getProperty(Blas.JAVACPP_PROPERTY));
            assertTrue(Blas.library().contains("Math Kernel Library"), Blas.library());
        } else {
            assertTrue(Blas.library().startsWith("OpenBLAS"), Blas.library());
        }
    }

    /**
     * A run's training.blas once libtorch runs: auto and the BLAS in use say nothing; the other BLAS is refused with a
     * sentence naming what runs (in a fresh JVM the choice takes effect: CliStartTest); a bad name is an error.
     */
    @Test
    void aRunsBlasChoiceAfterLibtorchLoadedSaysWhatRuns() {
        Blas.library();   // libtorch is loaded now
        String running = Blas.isMkl() ? "mkl" : "openblas";
        String other = Blas.isMkl() ? "openblas" : "mkl";
        assertEquals(null, Blas.prefer("auto"));
        assertEquals(null, Blas.prefer(running));
        String why = Blas.prefer(other);
        assertTrue(why != null && why.startsWith("training.blas is " + other + ", but this process runs")
                && why.contains(Blas.isMkl() ? "on MKL" : "on OpenBLAS"), why);
        assertThrows(IllegalArgumentException.class, () -> Blas.prefer("atlas"));
    }

    @Test
    void choosingAfterLibtorchLoadedClaimsNothing() {
        Blas.library();   // libtorch is loaded now
        WithProperty.run(Blas.JAVACPP_PROPERTY, null, () -> {
            Blas.select();
            assertEquals(null, System.getProperty(Blas.JAVACPP_PROPERTY),
                    "a choice made after libtorch loaded cannot take effect and must not be recorded as made");
        });
    }

    @Test
    void aBadChoiceIsNamed() {
        WithProperty.run(Blas.PROPERTY, "atlas", () -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Blas::select);
            assertTrue(e.getMessage().contains("incontext.blas must be mkl or openblas, got 'atlas'"), e.getMessage());
        });
    }
}
