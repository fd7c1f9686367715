package dev.incontext.bench;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.train.TrainingStep;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Training steps per second of the GPT-2 presets on the CPU (batch 64, 41 points, d = 20): the trainer's own
 * {@link TrainingStep} (sampling, schedule, forward, loss, backward, clipping, optimiser), with the project's
 * attention op or libtorch SDPA inside the model.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(1)
public class TrainStepBenchmark {
    @Param({"tiny", "small", "standard"})
    public String preset;

    @Param({"incontext", "sdpa"})
    public String attention;

    private TrainingStep step;
    private long index;

    @Setup
    public void setUp() {
        RunConfig c = ConfigLoader.load(RunConfig.class, "linear_regression", List.of("model.preset=" + preset,
                "model.attention=" + attention, "curriculum.enabled=false"));
        step = TrainingStep.fresh(c);   // the trainer's own step: schedule, clipping, divergence check
    }

    @Benchmark
    public double trainStep() {
        try (PointerScope scope = new PointerScope()) {
            return step.run(index++).loss().item_double();
        }
    }
}
