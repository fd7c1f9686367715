package dev.incontext.train;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.function.Consumer;

/**
 * Runs the ranks of a data-parallel run on a cluster manager rather than as processes on this machine
 * ({@link LocalLaunch}): found through {@link ServiceLoader} by the master URL it accepts. The incontext-sweep module
 * provides the Spark one ({@code local[N]}, {@code spark://host:port}, ...), which runs the ranks as one barrier
 * stage.
 */
public interface ClusterLaunch {
    /** Whether this launcher runs on {@code master}. */
    boolean accepts(String master);

    /**
     * Trains {@code request} on its config's {@code training.world_size} ranks and waits for all of them.
     *
     * @param conf settings for the cluster manager ({@code --conf key=value})
     * @param notices lines for the user (what the launcher set up, rank 0's progress where it can see it)
     * @return what rank 0 ended with, in a line
     * @throws RankFailure when a rank failed (the others were ended)
     */
    String train(TrainRequest request, String master, Map<String, String> conf, Consumer<String> notices)
            throws Exception;

    /** A rank that ended the run, and why. */
    final class RankFailure extends RuntimeException {
        private final int rank;

        public RankFailure(int rank, String message, Throwable cause) {
            super(rank < 0 ? message : "rank " + rank + " failed: " + message, cause);
            this.rank = rank;
        }

        /** The failed rank, or -1 when the cluster manager did not say. */
        public int rank() {
            return rank;
        }
    }

    /** The launcher for {@code master} on the class path. */
    static ClusterLaunch forMaster(String master) {
        for (ClusterLaunch l : ServiceLoader.load(ClusterLaunch.class)) {
            if (l.accepts(master)) {
                return l;
            }
        }
        throw new IllegalArgumentException("no launcher for --master " + master + ": Spark masters (local[N], "
                + "spark://host:port, ...) need the incontext-sweep module (dev.incontext:incontext-sweep) on the "
                + "class path, which ./incontext includes; --nproc N runs the ranks as processes on this machine");
    }
}
