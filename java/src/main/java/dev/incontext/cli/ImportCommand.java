package dev.incontext.cli;

import dev.incontext.interop.ReferenceCheckpoints;
import dev.incontext.interop.ReferenceModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code incontext import}: a checkpoint of the papers' own PyTorch code as a run directory of this toolkit. */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = {"Import a PyTorch state dict saved by the papers' own code as a run directory that eval, "
            + "experiment reports, attention-map and the Java API read like any other (no Python needed).",
            "--from garg: Garg et al.'s TransformerModel (state.pt or model_*.pt of dtsip/in-context-learning); "
                + "--from he: He et al.'s RoPETransformer (a .pth of ICL_Modular_Arithmetic).",
            "Sizes come from the tensors; the config (default linear_regression / he_modular) and KEY=VALUE "
                + "overrides give the rest: the task and evaluation, model.n_head of a Garg model that is none "
                + "of Garg's presets, model.activation of a He model trained with GELU."})
final class ImportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--from", required = true, description = "The reference model class: garg or he.")
    String from;

    @Parameters(index = "0", paramLabel = "FILE", description = "The torch.save file.")
    Path file;

    @Option(names = "--config", description = "Config file or shipped name for what the tensors do not say.")
    String config;

    @Option(names = "--out", required = true, description = "The run directory to write (must not hold a run).")
    Path out;

    @Parameters(index = "1..*", paramLabel = "KEY=VALUE", arity = "0..*", description = "Config overrides.")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        ReferenceCheckpoints.Imported r = ReferenceCheckpoints.importFile(ReferenceModel.parse(from), file, config,
                overrides, out, m -> {
                    w.println("note: " + m);
                    w.flush();
                });
        w.println("imported " + file + " as " + r.checkpoint());
        w.flush();
        return 0;
    }
}
