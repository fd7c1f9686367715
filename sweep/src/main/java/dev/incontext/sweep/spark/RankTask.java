package dev.incontext.sweep.spark;

import dev.incontext.config.RunSpec;
import dev.incontext.ops.NativeCache;
import dev.incontext.sweep.CellJob;
import dev.incontext.train.DataParallel;
import dev.incontext.train.TrainRequest;
import dev.incontext.train.Trainer;
import dev.incontext.train.TrainingListener;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.apache.spark.BarrierTaskContext;
import org.bytedeco.javacpp.PointerScope;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction1;

/**
 * One rank of a data-parallel run in a Spark barrier stage: its rank is its partition, rank 0 names the rendezvous
 * (its executor's host and a port free there) and every task learns it through {@code allGather}; then it trains as
 * one Gloo rank. Rank 0 prints its progress to its standard error (the console in {@code local[N]}, the executor's
 * log on a cluster) and returns one line saying what the run ended with.
 */
final class RankTask extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<String>>
        implements Serializable {
    private static final long serialVersionUID = 1L;

    private final TrainRequest request;
    private final int threads;

    RankTask(TrainRequest request, int threads) {
        this.request = request;
        this.threads = threads;
    }

    @Override
    public scala.collection.Iterator<String> apply(scala.collection.Iterator<Integer> partition) {
        try {
            return CollectionConverters.asScala(train().iterator());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<String> train() throws IOException {
        NativeCache.prepare();
        BarrierTaskContext ctx = BarrierTaskContext.get();
        int rank = ctx.partitionId();
        int world = ctx.getTaskInfos().length;
        String address = "";
        if (rank == 0) {
            String host = host(ctx.getTaskInfos()[0].address());
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress(host, 0));
                address = host + ":" + s.getLocalPort();
            }
        }
        String rendezvous = ctx.allGather(address)[0];
        int colon = rendezvous.lastIndexOf(':');
        DataParallel.Rendezvous r = new DataParallel.Rendezvous(rendezvous.substring(0, colon),
                Integer.parseInt(rendezvous.substring(colon + 1)), rank, world, request.timeout());
        // A config whose pools are 0 (the defaults: every core) gets this task's share of the cores instead: in
        // local[N] the ranks share this JVM's cores, on a cluster each has its task's CPUs.
        TrainRequest mine = request.withOverrides(CellJob.threadOverrides(request.config().training(), threads));
        RunSpec config = mine.config();
        String device = config.device();
        if (DataParallel.Collectives.forDevice(device) == DataParallel.Collectives.NCCL) {
            // One GPU per rank: the one Spark's resource scheduling gave this task, else GPU (rank mod count).
            String gpu = SparkSetup.gpu(ctx, rank, true);
            device = gpu == null ? "cuda:0" : gpu;
            mine = mine.withOverrides(List.of("device=" + device));
        }
        PrintStream log = System.err;
        try (PointerScope scope = new PointerScope(); DataParallel dp = DataParallel.connect(r,
                DataParallel.Collectives.forDevice(device), device)) {
            Trainer.Outcome o = mine.train(dp, rank == 0 ? new Progress(log, ctx) : new Stop(ctx));
            if (rank != 0) {
                return List.of();
            }
            return List.of(String.format(Locale.ROOT, "trained %s (%,d parameters) on %d ranks%s; run directory %s",
                    o.modelName(), o.objective().model().parameterCount(), world,
                    o.startStep() > 0 ? " from step " + o.startStep() : "",
                    Path.of(config.outDir()).toAbsolutePath()));
        }
    }

    private static String host(String address) {
        int colon = address.lastIndexOf(':');
        return colon < 0 ? address : address.substring(0, colon);
    }

    /** Stops between steps when Spark kills the task (another rank failed, or the job was cancelled). */
    private static class Stop implements TrainingListener {
        private final BarrierTaskContext ctx;

        Stop(BarrierTaskContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void onStep(long stepsDone, long totalSteps) {
            if (ctx.isInterrupted()) {
                throw new IllegalStateException("stopped by Spark after step " + stepsDone + " ("
                        + (ctx.getKillReason().isDefined() ? ctx.getKillReason().get() : "the stage was cancelled") + ")");
            }
        }
    }

    /** Rank 0's progress: a line per logged step, checkpoint and notice. */
    private static final class Progress extends Stop {
        private final PrintStream out;

        Progress(PrintStream out, BarrierTaskContext ctx) {
            super(ctx);
            this.out = out;
        }

        @Override
        public void onLog(TrainingLog log) {
            out.printf(Locale.ROOT, "incontext train: step %d loss %.6g lr %.3g%s%n", log.step(), log.loss(), log.lr(),
                    Double.isFinite(log.stepsPerSecond()) ? String.format(Locale.ROOT, " (%.1f steps/s)",
                            log.stepsPerSecond()) : "");
        }

        @Override
        public void onCheckpoint(Path dir, long step) {
            out.println("incontext train: checkpoint at step " + step + ": " + dir);
        }

        @Override
        public void onEvaluation(long step, String summary) {
            out.println("incontext train: " + summary);
        }

        @Override
        public void onNotice(String message) {
            out.println("incontext train: " + message);
        }
    }
}
