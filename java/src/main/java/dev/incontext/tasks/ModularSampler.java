package dev.incontext.tasks;

import static dev.incontext.ops.Rng.opt;

import dev.incontext.util.Tensors;
import java.util.List;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Samples {@link TokenBatch}es of modular arithmetic on a device, from explicit generators. A batch draws its rows'
 * tasks from one task set with every task equally often (each task appears floor(B / n) or ceil(B / n) times:
 * exactly equal when n divides B, as in the reference's batches), and each row's n examples are distinct (x, y)
 * pairs drawn uniformly without replacement from one pair set. All of it is batched tensor work.
 */
public final class ModularSampler {
    /** The four evaluation sets of He et al. (papers.md §3.1), and the pre-training distribution itself. */
    public enum Split {
        /** pre-training tasks x training pairs: the training distribution */
        ID_TRAIN("tr", true, true),
        /** pre-training tasks x held-out pairs */
        ID_TEST("test", true, false),
        /** o.o.d. tasks x training pairs */
        OOD_TRAIN("ood_train", false, true),
        /** o.o.d. tasks x held-out pairs: the in-context generalisation the phase diagram measures */
        OOD_TEST("ood_val", false, false);

        /** The column prefix of the reference's TSV. */
        public final String column;
        final boolean idTasks;
        final boolean trainPairs;

        Split(String column, boolean idTasks, boolean trainPairs) {
            this.column = column;
            this.idTasks = idTasks;
            this.trainPairs = trainPairs;
        }
    }

    private final ModularTasks sets;
    private final int p;
    private final int points;
    private final TensorOptions longs;
    private final Tensor idTasks;
    private final Tensor oodTasks;
    private final Tensor trainPairs;
    private final Tensor testPairs;

    /** Copies the sets to the device of {@code options}; rows hold {@code points} examples. */
    public ModularSampler(ModularTasks sets, int points, TensorOptions options) {
        if (points > Math.min(sets.trainPairs().size(), sets.testPairs().size())) {
            throw new IllegalArgumentException("rows of " + points + " distinct examples need at least that many "
                    + "training and held-out pairs; have " + sets.trainPairs().size() + " and "
                    + sets.testPairs().size());
        }
        this.sets = sets;
        this.p = sets.p();
        this.points = points;
        this.longs = options.dtype(new ScalarTypeOptional(torch.ScalarType.Long));
        // Created once and held for the sampler's life, whatever PointerScope the caller has open.
        this.idTasks = Tensors.keep(device(sets.idTasks()));
        this.oodTasks = Tensors.keep(device(sets.oodTasks()));
        this.trainPairs = Tensors.keep(device(sets.trainPairs()));
        this.testPairs = Tensors.keep(device(sets.testPairs()));
    }

    private Tensor device(List<int[]> pairs) {
        long[] flat = ModularTasks.flat(pairs);
        Tensor host = torch.tensor(flat).view(pairs.size(), 2);
        return host.to(longs.device(), torch.ScalarType.Long).clone();
    }

    public ModularTasks sets() {
        return sets;
    }

    public int points() {
        return points;
    }

    /** A batch of {@code rows} rows from {@code split}, drawn from {@code gen}. */
    public TokenBatch sample(Split split, long rows, Generator gen) {
        Tensor tasks = split.idTasks ? idTasks : oodTasks;
        Tensor pairs = split.trainPairs ? trainPairs : testPairs;
        long nTasks = tasks.size(0);
        long tiles = (rows + nTasks - 1) / nTasks;
        // tiles independent permutations of the tasks, concatenated: every task appears tiles or tiles - 1 times.
        Tensor perms = torch.argsort(torch.rand(new long[] {tiles, nTasks}, opt(gen), floats()), 1, false);
        Tensor taskIdx = perms.reshape(tiles * nTasks).narrow(0, 0, rows);
        Tensor rowTasks = torch.index_select(tasks, 0, taskIdx);                                  // (B, 2)
        long nPairs = pairs.size(0);
        Tensor pick = torch.argsort(torch.rand(new long[] {rows, nPairs}, opt(gen), floats()), 1, false)
                .narrow(1, 0, points);                                                            // (B, n) distinct
        Tensor rowPairs = torch.index_select(pairs, 0, pick.reshape(rows * points)).view(rows, points, 2);
        Tensor z = label(rowTasks, rowPairs);
        TensorVector parts = new TensorVector(rowPairs.select(2, 0), rowPairs.select(2, 1), z);
        Tensor tokens = torch.stack(parts, 2).reshape(rows, 3L * points);
        return new TokenBatch(tokens.narrow(1, 0, 3L * points - 1).contiguous(), z, rowTasks, rowPairs);
    }

    /** z = (a x + b y) mod p for tasks (B, 2) and pairs (B, n, 2). */
    public Tensor label(Tensor rowTasks, Tensor rowPairs) {
        Tensor a = rowTasks.select(1, 0).unsqueeze(1);
        Tensor b = rowTasks.select(1, 1).unsqueeze(1);
        return rowPairs.select(2, 0).mul(a).add(rowPairs.select(2, 1).mul(b)).remainder(new Scalar(p));
    }

    private TensorOptions floats() {
        return longs.dtype(new ScalarTypeOptional(torch.ScalarType.Float));
    }
}
