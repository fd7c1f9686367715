package dev.incontext.cli;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.ModularConfig;
import dev.incontext.train.TrainingStep;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code incontext bench-modular}: the time of one training step of the modular-arithmetic RoPE decoder. The
 * comparison with Python PyTorch is benchmarks/modular_step_compare.sh.
 */
@Command(name = "bench-modular", mixinStandardHelpOptions = true,
        description = {"Median time of one training step of he-modular's RoPE decoder (sample, forward, backward, "
            + "AdamW).", "Sizes from --preset (cpu or paper) and key=value overrides, e.g. training.batch_size=64."})
final class BenchModularCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--preset", defaultValue = "cpu", description = "cpu or paper (default ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--steps", defaultValue = "10", description = "Timed steps.")
    int steps;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed steps first.")
    int warmup;

    @Parameters(paramLabel = "KEY=VALUE", description = "Config overrides.", arity = "0..*")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        String base = switch (preset.toLowerCase(Locale.ROOT)) {
            case "cpu" -> null;
            case "paper" -> "he_modular_paper";
            default -> throw new IllegalArgumentException("unknown preset '" + preset + "'; valid: cpu, paper");
        };
        ModularConfig c = ConfigLoader.load(ModularConfig.class, base, overrides);
        try (PointerScope scope = new PointerScope()) {
            TrainingStep.StepTimes t = TrainingStep.fresh(c).time(warmup, steps);   // the trainer's own step
            out.printf(Locale.ROOT, "java preset=%s p=%d layers=%d width=%d heads=%d batch=%d points=%d "
                    + "attention=%s threads=%d median_ms=%.2f min_ms=%.2f%n", preset, c.task().p(),
                    c.model().nLayer(), c.model().nEmbd(), c.model().nHead(), c.training().batchSize(),
                    c.task().pointsPerRow(), c.model().attention().name().toLowerCase(Locale.ROOT),
                    torch.get_num_threads(), t.median(), t.min());
        }
        out.flush();
        return 0;
    }
}
