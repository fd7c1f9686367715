package dev.incontext.cli;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunSpec;
import dev.incontext.eval.baselines.Baselines;
import dev.incontext.train.DataParallel;
import dev.incontext.train.LocalLaunch;
import dev.incontext.train.ClusterLaunch;
import dev.incontext.train.TrainRequest;
import dev.incontext.train.Trainer;
import dev.incontext.train.TrainingListener;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.PointerScope;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code incontext train}: trains a model from a config, with checkpoints and resume. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train an in-context learner.",
            "CONFIG is a YAML file (may `inherit:` others) or the name of a shipped config (an unknown name lists "
                + "them). A config that is or inherits he_modular trains a token run (modular arithmetic); any "
                + "other, a regression run.",
            "Overrides: key.path=value (or --key.path=value), e.g. training.steps=1000 model.preset=tiny."})
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-c", "--config"}, description = "Config file or shipped config name (default: linear_regression).",
            defaultValue = "linear_regression")
    String config;

    @Option(names = "--resume", description = "Resume from a checkpoint directory or a run directory (its newest checkpoint).")
    Path resume;

    @Option(names = "--overwrite", description = "Start afresh in an out_dir that holds a previous run, deleting its "
            + "checkpoints, metrics.jsonl and config.yaml (nothing else).")
    boolean overwrite;

    @Option(names = "--nproc", description = "Data-parallel ranks: start N processes on this machine that train "
            + "one run together, each on 1/N of every batch (Gloo on loopback; sets training.world_size=N; the cores "
            + "are shared out). A config with training.world_size > 1 launches that many without this option.")
    Integer nproc;

    @Option(names = "--dp-timeout", description = "Seconds a rank waits for the others in a collective before the run "
            + "ends with an error naming the failure (default: ${DEFAULT-VALUE}).", defaultValue = "300")
    int dpTimeout;

    @Option(names = "--master", description = "Run the ranks as one Spark barrier stage on this master instead of "
            + "as processes: local[N] (in this JVM; N >= ranks) or a cluster (spark://host:port, ...). Rank 0 picks "
            + "the rendezvous address; the run's out_dir must be on storage every executor sees.")
    String master;

    @Option(names = "--conf", description = "Spark setting for --master, e.g. --conf spark.executor.memory=4g "
            + "(repeatable).")
    java.util.Map<String, String> sparkConf = new java.util.LinkedHashMap<>();

    @Parameters(paramLabel = "KEY=VALUE", description = "Config overrides.", arity = "0..*")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<String> o = new ArrayList<>(overrides);
        if (nproc != null) {
            if (nproc < 1) {
                throw new IllegalArgumentException("--nproc must be >= 1; got " + nproc);
            }
            o.add("training.world_size=" + nproc);
        }
        if (dpTimeout < 1) {
            throw new IllegalArgumentException("--dp-timeout must be >= 1 second; got " + dpTimeout);
        }
        RunSpec c = ConfigLoader.load(ConfigLoader.kindOf(config), config, o);
        if (c instanceof RunConfig r) {
            Baselines.validate(r.eval());
        }
        int world = c.training().worldSize();
        boolean launched = System.getenv(DataParallel.RANK_ENV) != null;
        if (master != null && !launched) {
            TrainRequest request = TrainRequest.of(c, resume, overwrite, Duration.ofSeconds(dpTimeout));
            try {
                String line = ClusterLaunch.forMaster(master).train(request, master, sparkConf, m -> {
                    out.println("incontext: " + m);
                    out.flush();
                });
                out.println(line);
                out.flush();
                return 0;
            } catch (ClusterLaunch.RankFailure f) {
                return ended(err, c, f.getMessage());
            }
        }
        if (world > 1 && !launched) {
            out.printf("data parallel: %d ranks on this machine (Gloo on loopback, %d thread(s) each); rank 0's "
                    + "output follows%n", world, LocalLaunch.threadsPerRank(world));
            out.flush();
            List<String> args = new ArrayList<>(List.of("train", "--config", config, "--dp-timeout",
                    Integer.toString(dpTimeout)));
            if (resume != null) {
                args.addAll(List.of("--resume", resume.toString()));
            }
            if (overwrite) {
                args.add("--overwrite");
            }
            args.addAll(o);
            LocalLaunch.Failure f = LocalLaunch.run(LocalLaunch.thisJvm(Main.class.getName(), args), world,
                    Duration.ofSeconds(dpTimeout), DataParallel.Collectives.forDevice(c.device())
                            == DataParallel.Collectives.NCCL, out, err);
            return f == null ? 0 : ended(err, c, f.describe());
        }
        try (DataParallel dp = DataParallel.fromEnvironment(System.getenv(),
                DataParallel.Collectives.forDevice(c.device()), c.device())) {
            if (dp.writer()) {
                out.printf("config: %s (%s run, %d steps, seed %d%s; every key is in that file)%n",
                        Path.of(c.outDir()).resolve("config.yaml"), c.kind().id(), c.training().steps(), c.seed(),
                        dp.worldSize() > 1 ? ", rank 0 of " + dp.worldSize() : "");
                out.flush();
            }
            try (PointerScope scope = new PointerScope(); ConsoleProgress progress = new ConsoleProgress(out)) {
                TrainingListener listener = dp.writer() ? progress : new TrainingListener() {};
                Trainer.Outcome t = new Trainer(listener).train(Trainer.prepare(c), resume, overwrite, dp);
                if (dp.writer()) {
                    out.printf("trained %s (%,d parameters); run directory %s%n", t.modelName(),
                            t.objective().model().parameterCount(), Path.of(c.outDir()).toAbsolutePath());
                }
            }
        }
        return 0;
    }

    /** A data-parallel run that a failed rank ended: says so, and how to resume it. */
    private static int ended(PrintWriter err, RunSpec c, String why) {
        err.printf("incontext: the run in %s ended: %s. Resume it from its last checkpoint with --resume %s "
                + "(on any number of ranks)%n", c.outDir(), why, c.outDir());
        err.flush();
        return 1;
    }
}
