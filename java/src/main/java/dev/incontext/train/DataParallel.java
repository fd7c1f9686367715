package dev.incontext.train;

import dev.incontext.ops.NativeLibrary;
import dev.incontext.util.Tensors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.nccl.ProcessGroupNCCL;

/**
 * Data parallelism over c10d's process groups (PyTorch's own collectives, from the libtorch the project already
 * loads): Gloo for a run on the CPU, NCCL for a run on CUDA (one GPU per rank; the NCCL classes' native part is in the
 * GPU build of libtorch only, {@code mvn -Pgpu}). Every rank trains on its {@link Shard} of the same global batch, the gradients are averaged over
 * the ranks in buckets before clipping and the optimiser step, so every rank's optimiser takes the same step.
 * Rank 0 writes metrics and checkpoints. The ranks meet through a TCPStore that rank 0 serves.
 *
 * <p>A rank that dies closes its connections and the others' next collective fails at once; a rank that hangs
 * fails the others' collectives after {@link Rendezvous#timeout()}. Either way every rank ends with an exception
 * naming the failure, and the launcher ({@code ./incontext train --nproc N}) ends the rest.
 */
public final class DataParallel implements AutoCloseable {
    /** The environment a launcher sets for each rank. */
    public static final String RANK_ENV = "INCONTEXT_RANK";
    public static final String WORLD_SIZE_ENV = "INCONTEXT_WORLD_SIZE";
    public static final String ADDRESS_ENV = "INCONTEXT_MASTER_ADDR";
    public static final String PORT_ENV = "INCONTEXT_MASTER_PORT";
    public static final String TIMEOUT_ENV = "INCONTEXT_DP_TIMEOUT_S";
    /** How long a collective waits for the other ranks unless the launcher says otherwise. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
    /** Gradients are all-reduced in flat buckets of at most this many bytes (DDP's default bucket size). */
    static final long BUCKET_BYTES = 25L << 20;

    /** One process: no collectives, the whole batch. */
    public static final DataParallel SINGLE = new DataParallel(null, null, 0, 1, null);

    private final Backend group;
    private final TCPStore store;
    private final int rank;
    private final int worldSize;
    /** Where the group's collectives take their tensors: null for Gloo (the CPU), the rank's GPU for NCCL. */
    private final Device device;

    /** Which c10d process group carries the collectives. */
    public enum Collectives {
        /** Gloo over TCP: tensors on the CPU. */
        GLOO,
        /** NCCL: tensors on the rank's GPU (needs the GPU build of libtorch and one GPU per rank). */
        NCCL;

        /** NCCL for a run on CUDA ({@code cuda}, {@code cuda:N}), Gloo for any other. */
        public static Collectives forDevice(String device) {
            return device != null && device.strip().toLowerCase(java.util.Locale.ROOT).startsWith("cuda") ? NCCL : GLOO;
        }
    }

    /** Where and how the ranks meet: rank 0 serves the store on {@code host:port}, every rank connects to it. */
    public record Rendezvous(String host, int port, int rank, int worldSize, Duration timeout) {
        public Rendezvous {
            if (worldSize < 1 || rank < 0 || rank >= worldSize) {
                throw new IllegalArgumentException("data parallel needs 0 <= rank < world size; got rank " + rank
                        + " of " + worldSize);
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("the rendezvous port must be 1..65535; got " + port);
            }
            if (host == null || host.isBlank()) {
                throw new IllegalArgumentException("the rendezvous needs rank 0's host name or address");
            }
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("the collective timeout must be positive; got " + timeout);
            }
        }
    }

    private DataParallel(Backend group, TCPStore store, int rank, int worldSize, Device device) {
        this.group = group;
        this.store = store;
        this.rank = rank;
        this.worldSize = worldSize;
        this.device = device;
    }

    /** Joins a Gloo group: rank 0 serves the store; every rank waits for all {@code worldSize} (up to the timeout). */
    public static DataParallel connect(Rendezvous r) {
        return connect(r, Collectives.GLOO, null);
    }

    /**
     * Joins a group of the given collectives. For NCCL, {@code device} is the run's CUDA device ({@code cuda} means
     * the current one, which a launcher that gives each rank one GPU, e.g. through {@code CUDA_VISIBLE_DEVICES},
     * makes this rank's); it is ignored for Gloo.
     */
    public static DataParallel connect(Rendezvous r, Collectives collectives, String device) {
        if (r.worldSize() == 1) {
            return SINGLE;
        }
        NativeLibrary.load();
        Milliseconds timeout = new Milliseconds(r.timeout().toMillis());
        TCPStoreOptions o = new TCPStoreOptions();
        o.port((short) r.port());   // a Java short holds 1..65535 as the same 16 bits C++'s uint16_t reads
        o.isServer(r.rank() == 0);
        o.waitWorkers(false);
        o.useLibUV(false);
        o.timeout(timeout);
        TCPStore store;
        try {
            store = new TCPStore(r.host(), o);
            keep(store);
        } catch (RuntimeException e) {
            throw new IllegalStateException("rank " + r.rank() + " of " + r.worldSize() + ": cannot reach the "
                    + "rendezvous at " + r.host() + ":" + r.port() + " within " + r.timeout().toSeconds() + " s ("
                    + e.getMessage() + ")", e);
        }
        if (collectives == Collectives.NCCL) {
            return connectNccl(r, store, timeout, device);
        }
        ProcessGroupGloo.Options po = ProcessGroupGloo.Options.create(timeout);
        GlooDeviceVector devices = new GlooDeviceVector(ProcessGroupGloo.createDeviceForHostname(r.rank() == 0
                ? r.host() : localAddressFor(r.host())));
        po.devices(devices);
        keep(po, devices);
        ProcessGroupGloo group;
        try {
            group = new ProcessGroupGloo(store, r.rank(), r.worldSize(), po);
        } catch (RuntimeException e) {
            throw new IllegalStateException("rank " + r.rank() + " of " + r.worldSize() + ": the other ranks did not "
                    + "all join within " + r.timeout().toSeconds() + " s (" + e.getMessage() + ")", e);
        }
        keep(group);
        return new DataParallel(group, store, r.rank(), r.worldSize(), null);
    }

    /**
     * The group's native objects (store, options, devices, the group) are shared by c10d through reference counts
     * that JavaCPP's deallocators do not take part in: freeing one from Java (close(), or the garbage collector once
     * the Java object is unreachable) while c10d still holds it corrupted the heap, and a later, unrelated test
     * aborted ("corrupted double-linked list") after the data-parallel tests ran in the same JVM. They are therefore
     * kept for the life of the process: a few kilobytes per group, one group per run.
     */
    private static final List<org.bytedeco.javacpp.Pointer> KEPT = java.util.Collections.synchronizedList(
            new ArrayList<>());

    private static void keep(org.bytedeco.javacpp.Pointer... objects) {
        KEPT.addAll(List.of(objects));
    }

    private static DataParallel connectNccl(Rendezvous r, TCPStore store, Milliseconds timeout, String device) {
        if (!torch.cuda_is_available()) {
            throw new IllegalStateException("rank " + r.rank() + " of " + r.worldSize() + ": NCCL needs a GPU, and "
                    + "libtorch sees none (a CPU build of libtorch, or no GPU for this rank); run on the CPU to use "
                    + "Gloo");
        }
        ProcessGroupNCCL group;
        try {
            ProcessGroupNCCL.Options po = ProcessGroupNCCL.Options.create();
            po.timeout(timeout);
            group = new ProcessGroupNCCL(store, r.rank(), r.worldSize(), po);
            keep(po, group);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            throw new IllegalStateException("rank " + r.rank() + " of " + r.worldSize() + ": cannot start NCCL ("
                    + e.getMessage() + "); it needs the GPU build of libtorch (mvn -Pgpu)", e);
        }
        return new DataParallel(group, store, r.rank(), r.worldSize(), new Device(device == null ? "cuda" : device));
    }

    /** {@code t} where the group's collectives take it (the rank's GPU for NCCL). */
    private Tensor onGroupDevice(Tensor t) {
        return device == null ? t : t.to(device, t.scalar_type());
    }

    /** A loopback rendezvous uses the loopback device; otherwise Gloo binds to the host's own name. */
    private static String localAddressFor(String host) {
        if (host.equals("127.0.0.1") || host.equals("localhost")) {
            return host;
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostAddress();
        } catch (java.net.UnknownHostException e) {
            return host;
        }
    }

    /**
     * The group the launcher's environment describes ({@link #RANK_ENV} and the others), or {@link #SINGLE} when it
     * sets none. A partial or malformed environment is an error naming the variable.
     */
    public static DataParallel fromEnvironment(Map<String, String> env) {
        return fromEnvironment(env, Collectives.GLOO, null);
    }

    /** As {@link #fromEnvironment(Map)}, with the collectives (and for NCCL the device) of the run. */
    public static DataParallel fromEnvironment(Map<String, String> env, Collectives collectives, String device) {
        String rankText = env.get(RANK_ENV);
        if (rankText == null) {
            return SINGLE;
        }
        int rankValue = intVar(env, RANK_ENV);
        int world = intVar(env, WORLD_SIZE_ENV);
        String host = env.getOrDefault(ADDRESS_ENV, "127.0.0.1");
        int port = intVar(env, PORT_ENV);
        Duration timeout = env.containsKey(TIMEOUT_ENV) ? Duration.ofSeconds(intVar(env, TIMEOUT_ENV)) : DEFAULT_TIMEOUT;
        return connect(new Rendezvous(host, port, rankValue, world, timeout), collectives, device);
    }

    private static int intVar(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null) {
            throw new IllegalArgumentException(name + " is not set, but " + RANK_ENV + " is: a data-parallel rank "
                    + "needs " + RANK_ENV + ", " + WORLD_SIZE_ENV + " and " + PORT_ENV);
        }
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number; got '" + v + "'");
        }
    }

    public int rank() {
        return rank;
    }

    public int worldSize() {
        return worldSize;
    }

    /** Whether this rank writes the run's files (metrics, checkpoints, config): rank 0. */
    public boolean writer() {
        return rank == 0;
    }

    public Shard shard() {
        return new Shard(rank, worldSize);
    }

    /** The mean of {@code loss} (a 0-D tensor) over the ranks: the global batch's loss. The input is unchanged. */
    Tensor averageLoss(Tensor loss) {
        if (group == null) {
            return loss;
        }
        Tensor l = loss.detach().to(torch.ScalarType.Double).reshape(1).clone();
        await(group.allreduce(new TensorVector(l)), "the loss");
        return l.div(new Scalar((double) worldSize)).reshape(new long[] {});
    }

    /**
     * Replaces every parameter's gradient by its mean over the ranks, in flat buckets of at most
     * {@link #BUCKET_BYTES} (one all-reduce each, all in flight together). A parameter without a gradient on this
     * rank counts as zero (and gets one), so that every rank sends the same buckets.
     */
    void averageGradients(TensorVector params) {
        if (group == null) {
            return;
        }
        List<List<Tensor>> buckets = new ArrayList<>();
        List<Tensor> current = new ArrayList<>();
        long bytes = 0;
        for (long i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            Tensor g = p.grad();
            if (!g.defined()) {
                p.mutable_grad().put(torch.zeros_like(p));
                g = p.grad();
            }
            long size = g.numel() * g.element_size();
            if (!current.isEmpty() && bytes + size > BUCKET_BYTES) {
                buckets.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(g);
            bytes += size;
        }
        if (!current.isEmpty()) {
            buckets.add(current);
        }
        List<Tensor> flats = new ArrayList<>();
        List<Work> works = new ArrayList<>();
        for (List<Tensor> b : buckets) {
            TensorVector views = new TensorVector();
            for (Tensor g : b) {
                views.push_back(g.reshape(-1));
            }
            Tensor flat = torch.cat(views);
            flats.add(flat);
            works.add(group.allreduce(new TensorVector(flat)));
        }
        Scalar n = new Scalar((double) worldSize);
        for (int i = 0; i < buckets.size(); i++) {
            await(works.get(i), "the gradients");
            Tensor flat = flats.get(i).div_(n);
            long offset = 0;
            for (Tensor g : buckets.get(i)) {
                g.copy_(flat.narrow(0, offset, g.numel()).view(g.sizes()));
                offset += g.numel();
            }
        }
    }

    /**
     * Times the all-reduce of a float32 tensor of {@code elements} over the group (every rank must call this with the
     * same arguments at the same point): milliseconds of each of {@code reps} all-reduces after {@code warmup}.
     */
    public double[] timeAllReduce(long elements, int warmup, int reps) {
        if (group == null) {
            throw new IllegalStateException("an all-reduce needs a group of at least 2 ranks");
        }
        Tensor t = onGroupDevice(torch.ones(new long[] {elements},
                new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Float)));
        double[] ms = new double[reps];
        for (int i = 0; i < warmup + reps; i++) {
            long t0 = System.nanoTime();
            await(group.allreduce(new TensorVector(t)), "a timed tensor");
            if (device != null) {
                torch.cuda_synchronize();   // NCCL's wait only orders the stream
            }
            if (i >= warmup) {
                ms[i - warmup] = (System.nanoTime() - t0) / 1e6;
            }
        }
        return ms;
    }

    /**
     * Fails unless every rank holds the same {@code values} (compared exactly): e.g. the step a run starts from and a
     * fingerprint of its parameters, so that ranks that loaded different checkpoints, or initialised differently,
     * stop before their first step. The message names the ranks' values.
     */
    void requireSame(String what, double... values) {
        if (group == null) {
            return;
        }
        Tensor mine = onGroupDevice(Tensors.fromDoubles(values));
        Tensor all = torch.zeros(new long[] {(long) worldSize * values.length}, mine.options());
        await(group._allgather_base(all, mine), what);
        double[] got = Tensors.toDoubleArray(all.cpu());
        for (int r = 0; r < worldSize; r++) {
            for (int j = 0; j < values.length; j++) {
                if (Double.doubleToLongBits(got[r * values.length + j]) != Double.doubleToLongBits(got[j])) {
                    throw new IllegalStateException("the ranks differ in " + what + ": rank 0 has "
                            + java.util.Arrays.toString(java.util.Arrays.copyOfRange(got, 0, values.length))
                            + ", rank " + r + " has " + java.util.Arrays.toString(java.util.Arrays.copyOfRange(got,
                            r * values.length, (r + 1) * values.length)));
                }
            }
        }
    }

    private void await(Work work, String what) {
        try {
            work._wait();
        } catch (RuntimeException e) {
            throw new IllegalStateException("rank " + rank + " of " + worldSize + ": averaging " + what + " over the "
                    + "ranks failed (another rank died, hung past the timeout, or lost its connection): "
                    + e.getMessage(), e);
        }
    }

    /** Leaves the group (after the last collective of every rank). */
    @Override
    public void close() {
        if (group != null) {
            try {
                group.shutdown();
            } catch (RuntimeException e) {
                // a group whose peers are gone cannot shut down cleanly; the process ends anyway
            }
            // Not closed: see KEPT.
        }
    }
}
