package dev.incontext.cli;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.ops.Blas;
import dev.incontext.ops.Memory;
import dev.incontext.ops.Ops;
import dev.incontext.train.DataParallel;
import dev.incontext.train.LocalLaunch;
import dev.incontext.train.TrainingStep;
import java.io.PrintWriter;
import java.util.ArrayList;
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

    @Option(names = "--threads", defaultValue = "0", description = "Torch intra-op threads (0 = the cores, or OMP_NUM_THREADS).")
    int threads;

    @Option(names = "--blas-threads", defaultValue = "0", description = "BLAS threads (0 = MKL follows the torch count; OpenBLAS keeps OPENBLAS_NUM_THREADS).")
    int blasThreads;

    @Option(names = "--precision", defaultValue = "float32", description = "float32, bf16 or fp16 (training.precision: "
            + "bfloat16 or float16 products and attention under autocast; fp16 with loss scaling).")
    String precision;

    @Option(names = "--nproc", defaultValue = "1", description = "Data-parallel ranks on this machine (each on 1/N "
            + "of the batch, gradients all-reduced over Gloo); with N > 1 rank 0 also times all-reduces of 4 KB to "
            + "64 MB.")
    int nproc;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (nproc < 1) {
            throw new IllegalArgumentException("--nproc must be >= 1; got " + nproc);
        }
        if (nproc > 1 && System.getenv(DataParallel.RANK_ENV) == null) {
            List<String> args = new ArrayList<>(spec.commandLine().getParseResult().originalArgs());  // with "bench-train"
            LocalLaunch.Failure f = LocalLaunch.run(LocalLaunch.thisJvm(Main.class.getName(), args), nproc,
                    DataParallel.DEFAULT_TIMEOUT, out, spec.commandLine().getErr());
            return f == null ? 0 : 1;
        }
        try (DataParallel dp = DataParallel.fromEnvironment(System.getenv())) {
            RunConfig c = ConfigLoader.load(RunConfig.class, "linear_regression", List.of("model.preset=" + preset,
                    "model.attention=" + attention, "task.n_dims=" + dims, "training.batch_size=" + batch,
                    "curriculum.enabled=false",
                    "curriculum.dims={start: " + dims + ", end: " + dims + ", inc: 0, interval: 1}",
                    "curriculum.points={start: " + points + ", end: " + points + ", inc: 0, interval: 1}",
                    "model.n_positions=" + Math.max(points, 1), "training.world_size=" + dp.worldSize(),
                    "training.precision=" + precision, "training.threads=" + threads,
                    "training.blas_threads=" + blasThreads));   // Trainer.prepare sizes the pools
            TrainingStep step = TrainingStep.fresh(c, dp);   // the trainer's own step: schedule, clipping and all
            TrainingStep.StepTimes t = step.time(warmup, steps);
            if (dp.writer()) {
                out.printf(Locale.ROOT, "java preset=%s attention=%s precision=%s threads=%d batch=%d points=%d "
                        + "dims=%d params=%d ranks=%d median_ms=%.2f min_ms=%.2f page_faults_per_step=%.0f "
                        + "malloc=%s op_threads=%d attention_isa=%s blas=\"%s\"%n", preset, attention,
                        step.precision().name().toLowerCase(Locale.ROOT), torch.get_num_threads(), batch, points,
                        dims, step.model().parameterCount(), dp.worldSize(), t.median(), t.min(),
                        t.pageFaultsPerStep(), Memory.policy(), Ops.opThreads(), Ops.attentionCpuIsa(),
                        Blas.describe());
                out.flush();
            }
            if (dp.worldSize() > 1) {
                for (long elements = 1024; elements <= 16L << 20; elements *= 4) {
                    double[] ms = dp.timeAllReduce(elements, 3, 15);
                    Arrays.sort(ms);
                    if (dp.writer()) {
                        double mb = elements * 4 / 1e6;
                        out.printf(Locale.ROOT, "allreduce ranks=%d bytes=%d median_ms=%.3f min_ms=%.3f "
                                + "algbw_gbps=%.3f%n", dp.worldSize(), elements * 4, ms[ms.length / 2], ms[0],
                                mb / 1e3 / (ms[ms.length / 2] / 1e3));
                        out.flush();
                    }
                }
            }
        }
        return 0;
    }
}
