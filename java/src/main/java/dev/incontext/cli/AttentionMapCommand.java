package dev.incontext.cli;

import dev.incontext.experiments.HeModular;
import dev.incontext.train.TokenObjective;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code incontext attention-map}: one head's attention over a prompt, from a he-modular checkpoint, as a PNG. */
@Command(name = "attention-map", mixinStandardHelpOptions = true,
        description = "Attention map of one head of one layer of a he-modular checkpoint for a prompt, as a PNG.")
final class AttentionMapCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", required = true, description = "A checkpoint directory (checkpoints/step-N).")
    Path checkpoint;

    @Option(names = "--layer", defaultValue = "0", description = "Layer, from 0 (default ${DEFAULT-VALUE}).")
    int layer;

    @Option(names = "--head", defaultValue = "0", description = "Head, from 0 (default ${DEFAULT-VALUE}).")
    int head;

    @Option(names = "--prompt", split = ",", description = "Digit tokens x,y,z,x,y,z,... (default: an o.o.d. "
            + "held-out row of the run).")
    int[] prompt;

    @Option(names = {"-o", "--out"}, defaultValue = "attention.png", description = "Output PNG (default ${DEFAULT-VALUE}).")
    Path out;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        int[] used = HeModular.attentionMap(TokenObjective.load(checkpoint), layer, head, prompt, out);
        w.printf("layer %d, head %d, prompt %s -> %s%n", layer, head,
                Arrays.stream(used).mapToObj(Integer::toString).collect(Collectors.joining(" ")), out);
        w.flush();
        return 0;
    }
}
