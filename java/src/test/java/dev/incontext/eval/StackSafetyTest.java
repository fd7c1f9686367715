package dev.incontext.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.ops.Threads;
import dev.incontext.model.LsaClosedForm;
import java.util.concurrent.atomic.AtomicReference;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * The library's large linear solves run on a JVM thread with the default 1 MB stack and multithreaded OpenBLAS (the
 * CLI's setting; Surefire pins OpenBLAS to 1 thread, so this test raises it): libtorch's LU solve kills the process
 * there from about 192 x 192 (measured), so a regression to LU in these paths crashes this test's JVM and fails the
 * build instead of a user's evaluation.
 */
class StackSafetyTest {
    @Test
    void largeSpdSolvesSurviveADefaultStack() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        double[] results = new double[2];
        Thread t = new Thread(null, () -> {
            try (PointerScope scope = new PointerScope()) {
                Threads.set(0, 2);
                TensorOptions f64 = new TensorOptions(torch.ScalarType.Double);
                // Probes of a 320-wide hidden state: one 320 x 320 solve per position.
                Tensor hTrain = torch.randn(new long[] {400, 3, 320}, f64);
                Tensor map = torch.randn(new long[] {320, 4}, f64);
                Tensor hTest = torch.randn(new long[] {400, 3, 320}, f64);
                double[] r2 = LinearProbes.r2(hTrain, torch.matmul(hTrain, map), hTest, torch.matmul(hTest, map), 1e-6);
                results[0] = r2[2];
                // Γ⁻¹ of Zhang et al.'s minimum at d = 256.
                results[1] = LsaClosedForm.isotropic(256, 40).gammaInverse()[0][0];
            } catch (Throwable e) {
                failure.set(e);
            } finally {
                Threads.set(0, 1);
            }
        }, "one-megabyte-stack", 1L << 20);
        t.start();
        t.join();
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertTrue(results[0] > 0.999, "probe R² " + results[0]);
        assertEquals(1 / (1 + 1.0 / 40 + 256.0 / 40), results[1], 1e-12);
    }
}
