package dev.incontext.cli;

import dev.incontext.interop.ReferenceCheckpoints;
import dev.incontext.interop.ReferenceModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code incontext export-torch}: a run's checkpoint as a state dict of the papers' own PyTorch model class. */
@Command(name = "export-torch", mixinStandardHelpOptions = true,
        description = {"Write a checkpoint as a PyTorch state dict (torch.save format) that the reference model "
            + "class loads with load_state_dict(strict=True): --to garg for a GPT-2 regression run with interleaved "
            + "prompts (Garg et al.'s TransformerModel), --to he for a token run (He et al.'s RoPETransformer)."})
final class ExportTorchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", required = true, description = "Checkpoint directory or run directory.")
    Path checkpoint;

    @Option(names = "--to", required = true, description = "The reference model class: garg or he.")
    String to;

    @Option(names = "--vocab-size", defaultValue = "" + ReferenceCheckpoints.GPT2_VOCAB, description = "Rows of "
            + "the unused token embedding of Garg's GPT2Model, written as zeros (default ${DEFAULT-VALUE}, "
            + "GPT2Config's, which Garg's code keeps).")
    int vocabSize;

    @Parameters(index = "0", paramLabel = "FILE", description = "The file to write.")
    Path file;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        List<String> names = ReferenceCheckpoints.export(checkpoint, ReferenceModel.parse(to), file, vocabSize, m -> {
            w.println("note: " + m);
            w.flush();
        });
        w.println("wrote " + names.size() + " tensors to " + file);
        w.flush();
        return 0;
    }
}
