package dev.incontext.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.eval.baselines.Averaging;
import dev.incontext.eval.baselines.LeastSquares;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.testing.NativeScope;
import dev.incontext.util.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Java reads tensor memory only on the host. On CUDA, {@code data_ptr} of a device tensor is a device address and
 * reading it from the JVM crashes the process; without a GPU the rule is checked where it is enforced: one helper
 * that copies to the CPU, and no other host read in the library.
 */
@ExtendWith(NativeScope.class)
class HostReadsTest {
    @Test
    void onlyTensorsReadsTensorMemory() throws IOException {
        Path main = Path.of("src/main/java");
        assertTrue(Files.isDirectory(main), "run from the java module: " + main.toAbsolutePath());
        try (Stream<Path> files = Files.walk(main)) {
            List<String> offenders = files.filter(p -> p.toString().endsWith(".java"))
                    .filter(p -> !p.endsWith(Path.of("dev/incontext/util/Tensors.java")))
                    .filter(p -> {
                        try {
                            return Files.readString(p).contains("data_ptr");
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    })
                    .map(Path::toString).toList();
            assertEquals(List.of(), offenders, "read tensor data through Tensors.toDoubleArray (it copies to the host)");
        }
    }

    @Test
    void toDoubleArrayCopiesAndRefusesWhatHasNoData() {
        Tensor t = torch.arange(new org.bytedeco.pytorch.Scalar(6)).to(torch.ScalarType.Float).reshape(2, 3).t();
        assertArrayEquals(new double[] {0, 3, 1, 4, 2, 5}, Tensors.toDoubleArray(t));   // transposed: row-major copy
        Tensor meta = torch.zeros(new long[] {2, 3},
                new TensorOptions(torch.ScalarType.Float).device(new DeviceOptional(new Device("meta"))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensors.toDoubleArray(meta));
        assertTrue(e.getMessage().contains("meta device"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensors.toDoubleArray(new Tensor()));
    }

    /**
     * A finite task pool drawn lazily inside the evaluator's first per-batch scope must survive into the next
     * batches (it used to be freed with that scope: "Pointer address of argument 0 is NULL").
     */
    @Test
    void evaluatorRunsOnFinitePoolsAcrossBatches() {
        for (String pool : new String[] {"task.num_tasks=8", "task.num_training_examples=8"}) {
            TaskSampler s = TaskSampler.forRun(ConfigLoader.load(RunConfig.class, "demo", List.of(pool)),
                    new TensorOptions(torch.ScalarType.Double));
            Evaluation e = Evaluator.evaluate(List.of(new LeastSquares(0), new Averaging()), s, 64, 16, 11, 3);
            assertEquals(0.0, e.curve("Least squares").mean()[10], 1e-9, pool);
        }
    }
}
