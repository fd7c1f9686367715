package dev.incontext.cli;

import dev.incontext.ops.Blas;
import dev.incontext.ops.NativeCache;
import dev.incontext.ops.Threads;
import dev.incontext.util.Logging;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code incontext} command line. */
@Command(name = "incontext",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Train and study in-context learners on libtorch with native C++/CUDA kernels.",
        subcommands = {DemoCommand.class, TrainCommand.class, EvalCommand.class, OpsCheckCommand.class, BenchCommand.class,
            ExperimentCommand.class, BenchModularCommand.class, BenchEvalCommand.class, AttentionMapCommand.class, SweepCommand.class,
            ImportCommand.class, ExportTorchCommand.class,
            CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI and returns its exit code (0 success, 1 failure, 2 usage error). */
    public static int execute(String... args) {
        return execute(null, null, args);
    }

    /** As {@link #execute(String...)}, writing to {@code out} and {@code err} (null: standard output and error). */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        Logging.useProjectConfiguration();   // before anything loads JavaCPP or Log4j
        try {
            Blas.select();  // before anything loads libtorch
            if (needsNativeLibraries(args)) {
                NativeCache.prepare();   // extraction into a cold cache takes turns with other JVMs
                Threads.set(0, 0);       // the cores (or OMP_NUM_THREADS), not libtorch's own count of them
            }
        } catch (IllegalArgumentException | IllegalStateException e) {
            // A bad -Dincontext.blas / -Dincontext.malloc (INCONTEXT_BLAS / INCONTEXT_MALLOC), or libraries that do
            // not load: said as any command's error is, not as a stack trace from main.
            PrintWriter w = err != null ? err : new PrintWriter(System.err, true);
            w.println("incontext: error: " + e.getMessage());
            w.flush();
            return 1;
        }
        CommandLine cli = new CommandLine(new Main());
        ExperimentCommand.describeExperiments(cli.getSubcommands().get("experiment").getCommandSpec());
        if (out != null) {
            cli.setOut(out);
        }
        if (err != null) {
            cli.setErr(err);
        }
        // Config overrides may be written --key.path=value: options no command declares reach it as parameters.
        cli.setUnmatchedOptionsArePositionalParams(true);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            PrintWriter w = commandLine.getErr();
            w.println("incontext: error: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            if (System.getenv("INCONTEXT_DEBUG") != null) {
                e.printStackTrace(w);
            } else {
                w.println("(set INCONTEXT_DEBUG=1 for the stack trace)");
            }
            w.flush();
            return 1;
        });
        return cli.execute(args);
    }

    /** Every command but help and the version loads libtorch. */
    private static boolean needsNativeLibraries(String[] args) {
        if (args.length > 0 && (args[0].equals("train") || args[0].equals("demo"))) {
            // They load libtorch when their run's config has been read (Trainer.prepare), so that the config's
            // training.blas can still choose the BLAS; a data-parallel launcher needs none of it.
            return false;
        }
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h") || a.equals("--version") || a.equals("-V") || a.equals("help")) {
                return false;
            }
        }
        return args.length > 0;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"incontext " + (v == null ? "(development build)" : v)};
        }
    }
}
