package dev.incontext.train;

/**
 * Which rows of a step's global batch one rank of a data-parallel run trains on: rank r of N takes the r-th of N
 * equal slices. The global batch itself is a pure function of (seed, step), so N ranks together see exactly the
 * examples one process sees, and their averaged gradients are its gradient up to the order of the sums.
 */
public record Shard(int rank, int worldSize) {
    /** The whole batch: a run in one process. */
    public static final Shard WHOLE = new Shard(0, 1);

    public Shard {
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("a shard needs 0 <= rank < world size; got rank " + rank + " of "
                    + worldSize);
        }
    }

    /** The first row of this rank's slice of a batch of {@code batch} rows (a multiple of the world size). */
    public long start(long batch) {
        return rank * size(batch);
    }

    /** How many rows this rank takes of a batch of {@code batch} rows. */
    public long size(long batch) {
        if (batch % worldSize != 0) {
            throw new IllegalArgumentException("a batch of " + batch + " rows does not split into " + worldSize
                    + " equal slices");
        }
        return batch / worldSize;
    }

    public boolean whole() {
        return worldSize == 1;
    }
}
