package dev.incontext.bench;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.model.InContextModel;
import dev.incontext.model.Models;
import dev.incontext.tasks.PromptBatch;
import dev.incontext.tasks.TaskSampler;
import dev.incontext.train.Trainer;
import dev.incontext.util.Devices;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
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
 * Training steps per second of the GPT-2 presets on the CPU (batch 64, 41 points, d = 20, Adam): sampling, forward,
 * backward and the optimiser step, with the project's attention op or libtorch SDPA inside the model.
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

    private InContextModel model;
    private Adam adam;
    private TaskSampler sampler;
    private long step;

    @Setup
    public void setUp() {
        RunConfig c = ConfigLoader.load("linear_regression", List.of("model.preset=" + preset,
                "model.attention=" + attention, "curriculum.enabled=false"));
        TensorOptions o = Devices.float32("cpu");
        model = Models.create(c, o);
        adam = new Adam(model.module().parameters(), new AdamOptions(1e-4));
        sampler = TaskSampler.forRun(c, o);
    }

    @Benchmark
    public double trainStep() {
        try (PointerScope scope = new PointerScope()) {
            PromptBatch b = sampler.sample(64, 41, 20, sampler.generator(step++));
            adam.zero_grad();
            Tensor loss = Trainer.loss(model.forward(b.xs(), b.ys()), b.ys(), false, true);
            loss.backward();
            adam.step();
            return loss.item_double();
        }
    }
}
