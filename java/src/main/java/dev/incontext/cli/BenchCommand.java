package dev.incontext.cli;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.ops.Blas;
import dev.incontext.ops.Ops;
import dev.incontext.ops.Threads;
import dev.incontext.train.TrainingStep;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code incontext bench-train}: the time of one full training step of a GPT-2 preset (the trainer's own
 * {@link TrainingStep}: sample, schedule, forward, loss, backward, clipping, optimiser), median over repeated steps
 * after warm-up. benchmarks/train_step_compare.sh runs the same step in Python
 * PyTorch and prints the ratio.
 */
@Command(name = "bench-train", mixinStandardHelpOptions = true,
        description = "Median time of one training step (batch 64, 41 points, d = 20 by default) for a GPT-2 preset.")
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--preset", defaultValue = "tiny", description = "standard, small or tiny (default ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--attention", defaultValue = "incontext", description = "incontext or sdpa.")
    String attention;

    @Option(names = "--steps", defaultValue = "20", description = "Timed steps.")
    int steps;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed steps first.")
    int warmup;

    @Option(names = "--batch", defaultValue = "64")
    int batch;

    @Option(names = "--points", defaultValue = "41")
    int points;

    @Option(names = "--dims", defaultValue = "20")
    int dims;

    @Option(names = "--threads", defaultValue = "0", description = "Torch intra-op threads (0 = as the environment sets them).")
    int threads;

    @Option(names = "--blas-threads", defaultValue = "0", description = "BLAS (MKL or OpenBLAS) threads (0 = as the environment sets them).")
    int blasThreads;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Threads.set(threads, blasThreads);
        RunConfig c = ConfigLoader.load(RunConfig.class, "linear_regression", List.of("model.preset=" + preset,
                "model.attention=" + attention, "task.n_dims=" + dims, "training.batch_size=" + batch,
                "curriculum.enabled=false", "curriculum.dims={start: " + dims + ", end: " + dims + ", inc: 0, interval: 1}",
                "curriculum.points={start: " + points + ", end: " + points + ", inc: 0, interval: 1}",
                "model.n_positions=" + Math.max(points, 1)));
        TrainingStep step = TrainingStep.fresh(c);   // the trainer's own step: schedule, clipping and all
        double[] t = step.time(warmup, steps);
        Arrays.sort(t);
        out.printf(Locale.ROOT, "java preset=%s attention=%s threads=%d batch=%d points=%d dims=%d params=%d "
                + "median_ms=%.2f min_ms=%.2f op_threads=%d attention_isa=%s blas=\"%s\"%n", preset, attention,
                torch.get_num_threads(), batch, points, dims, step.model().parameterCount(), t[t.length / 2],
                Arrays.stream(t).min().orElse(Double.NaN), Ops.opThreads(),
                Ops.attentionCpuIsa(), Blas.describe());
        out.flush();
        return 0;
    }
}
