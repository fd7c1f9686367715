package dev.incontext.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.incontext.config.ModularConfig;
import dev.incontext.config.RunConfig;
import dev.incontext.tasks.ModularSampler.Split;
import dev.incontext.testing.NativeScope;
import dev.incontext.train.Checkpoints;
import dev.incontext.train.TokenObjective;
import dev.incontext.train.TrainedModel;
import dev.incontext.util.Tensors;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Imports of state dicts made by the reference architectures in Python PyTorch (Hugging Face GPT2Model inside Garg et
 * al.'s TransformerModel; He et al.'s RoPETransformer with rotary-embedding-torch), committed as test resources by
 * benchmarks/python/reference_checkpoints.py: the imported models give Python's outputs on the same prompts; exports
 * read back to the same model, and load strictly in the Python classes where Python is present.
 *
 * <p>Tolerance: 1e-5 absolute plus 1e-5 relative to Python's float32 output. Both sides run the same float32
 * operations in a different order (libtorch's attention op or SDPA here, PyTorch's SDPA there; fused or split
 * projections), so outputs of order 1 differ by some float32 ulps (about 1e-7 each) accumulated over a few layers;
 * measured: 6e-8 on Garg's predictions, 2e-6 on He's logits (about 1e-6 is what PyTorch itself changes between
 * thread counts). Each comparison prints its largest difference.
 */
@ExtendWith(NativeScope.class)
class ReferenceCheckpointsTest {
    private static final double TOL = 1e-5;
    /** The fixtures, from the test class path (Maven copies src/test/resources there). */
    static final Path RES;

    static {
        try {
            RES = Path.of(ReferenceCheckpointsTest.class.getResource("/dev/incontext/interop/garg/state.pt").toURI()).getParent()
                    .getParent();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path resource(String name) {
        Path p = RES.resolve(name);
        assertTrue(Files.exists(p), "test resource " + p + " is missing (benchmarks/python/reference_checkpoints.py)");
        return p;
    }

    /** The tensors of an expected.pt (and its config dict). */
    private static Map<String, Object> expected(String dir) throws IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        try (TorchFile f = TorchFile.open(resource(dir + "/expected.pt"))) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) f.root()).entrySet()) {
                Object v = e.getValue();
                out.put(String.valueOf(e.getKey()), v instanceof TorchFile.StoredTensor t ? Tensors.keep(t.toTensor())
                        : v);
            }
        }
        return out;
    }

    private static void assertClose(Tensor want, Tensor got, String what) {
        double[] w = Tensors.toDoubleArray(want);
        double[] g = Tensors.toDoubleArray(got);
        assertEquals(w.length, g.length, what + ": sizes");
        double worst = 0;
        int at = -1;
        double maxAbs = 0;
        for (int i = 0; i < w.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(w[i] - g[i]));
        }
        System.out.println(what + ": max |difference| " + maxAbs);
        for (int i = 0; i < w.length; i++) {
            double d = Math.abs(w[i] - g[i]);
            if (d - TOL * Math.abs(w[i]) > worst) {
                worst = d - TOL * Math.abs(w[i]);
                at = i;
            }
        }
        assertTrue(worst <= TOL, what + ": element " + at + " is " + (at < 0 ? "" : g[at]) + ", Python's "
                + (at < 0 ? "" : w[at]) + " (beyond 1e-5 + 1e-5 |Python's| by " + worst + ")");
    }

    private static Path importGarg(Path dir) throws IOException {
        List<String> notes = new ArrayList<>();
        ReferenceCheckpoints.Imported r = ReferenceCheckpoints.importFile(ReferenceModel.GARG,
                resource("garg/state.pt"), null, List.of("model.n_head=2"), dir.resolve("garg-run"), notes::add);
        assertTrue(notes.stream().anyMatch(n -> n.contains("model_state_dict")), notes.toString());
        return r.runDir();
    }

    @Test
    void gargCheckpointGivesPythonsPredictions(@TempDir Path dir) throws IOException {
        Path run = importGarg(dir);
        TrainedModel m = TrainedModel.load(run);
        RunConfig c = m.config();
        assertEquals(5, c.task().nDims());
        assertEquals(11, c.model().nPositions());
        assertEquals(2, c.model().layers());
        assertEquals(16, c.model().width());
        assertEquals(30, Checkpoints.load(run, n -> { }).step(), "train_step of state.pt");
        Map<String, Object> e = expected("garg");
        Tensor preds = m.predict((Tensor) e.get("xs"), (Tensor) e.get("ys"));
        assertClose((Tensor) e.get("predictions"), preds, "Garg predictions");
        assertTrue(Files.exists(run.resolve("imported.json")));
        assertTrue(Files.exists(run.resolve("config.yaml")));
    }

    @Test
    void gargHeadsComeFromThePresetsOrTheConfig(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ReferenceCheckpoints
                .importFile(ReferenceModel.GARG, resource("garg/state.pt"), null, List.of(), dir.resolve("r"),
                        n -> { }));
        assertTrue(e.getMessage().contains("model.n_head"), e.getMessage());
    }

    private static Tensor heLogits(TokenObjective o, Tensor inputs) {
        try (NoGradGuard g = new NoGradGuard()) {
            int n = (int) ((inputs.size(1) + 1) / 3);
            return o.model().logits(torch.index_select(o.model().hidden(inputs), 1,
                    TokenObjective.zPositions(n, inputs.options().dtype(
                            new org.bytedeco.pytorch.ScalarTypeOptional(torch.ScalarType.Float)))));
        }
    }

    private static void checkHe(String name, ModularConfig.Activation act, Path dir) throws IOException {
        ReferenceCheckpoints.Imported r = ReferenceCheckpoints.importFile(ReferenceModel.HE, resource(name
                + "/model.pt"), null, List.of(), dir.resolve(name), n -> { });
        TokenObjective o = TokenObjective.load(r.checkpoint());
        ModularConfig c = o.config();
        assertEquals(11, c.task().p(), "p from the vocabulary of p + 18 tokens");
        assertEquals(2, c.model().nHead(), "heads from the RoPE frequencies");
        assertEquals(act, c.model().activation());
        assertEquals(10000.0, c.model().ropeBase());
        Map<String, Object> e = expected(name);
        Tensor logits = heLogits(o, (Tensor) e.get("inputs"));
        Tensor want = (Tensor) e.get("logits");
        assertClose(want, logits, name + " logits at the z tokens");
        // Python's argmaxes win by >= 0.013 (the fixture script prints the smallest margin), far above the tolerance,
        // so the accuracy per shot must be Python's exactly.
        Tensor z = (Tensor) e.get("z");
        Tensor ours = logits.argmax(new LongOptional(2), false).eq(z).to(torch.ScalarType.Double).mean(
                new long[] {0}, false, new org.bytedeco.pytorch.ScalarTypeOptional());
        assertArrayEquals(Tensors.toDoubleArray((Tensor) e.get("accuracy")), Tensors.toDoubleArray(ours), 0.0,
                name + " accuracy per shot");
        // The he-modular evaluation: accuracy at every shot on the four sets of the config's task.
        o.evaluate(0);
        assertEquals(Split.values().length, o.accuracy().size());
        for (Split s : Split.values()) {
            double[] a = o.accuracy().get(s);
            assertEquals(c.task().pointsPerRow(), a.length, s + " shots");
            for (double v : a) {
                assertTrue(v >= 0 && v <= 1, s + ": " + v);
            }
        }
    }

    @Test
    void heCheckpointGivesPythonsLogitsAndAccuracies(@TempDir Path dir) throws IOException {
        checkHe("he", ModularConfig.Activation.RELU, dir);
    }

    @Test
    void heSwigluCheckpoint(@TempDir Path dir) throws IOException {
        checkHe("he-swiglu", ModularConfig.Activation.SWIGLU, dir);
    }

    @Test
    void exportsReadBackToTheSameModels(@TempDir Path dir) throws IOException {
        Path garg = importGarg(dir);
        Path file = dir.resolve("garg.pt");
        List<String> names = ReferenceCheckpoints.export(garg, ReferenceModel.GARG, file, 3, n -> { });
        assertTrue(names.contains("_backbone.wte.weight"));
        Path again = ReferenceCheckpoints.importFile(ReferenceModel.GARG, file, null, List.of("model.n_head=2"),
                dir.resolve("again"), n -> { }).runDir();
        assertEquals(Sha256Of.model(garg), Sha256Of.model(again), "the same parameters, bit for bit");

        Path he = ReferenceCheckpoints.importFile(ReferenceModel.HE, resource("he/model.pt"), null, List.of(),
                dir.resolve("he"), n -> { }).runDir();
        Path heFile = dir.resolve("he.pt");
        List<String> heNames = ReferenceCheckpoints.export(he, ReferenceModel.HE, heFile, 0, n -> { });
        assertTrue(heNames.contains("lm_head.weight") && heNames.contains("transformer.h.1.attn.rotary_emb.freqs"));
        Path heAgain = ReferenceCheckpoints.importFile(ReferenceModel.HE, heFile, null, List.of(),
                dir.resolve("he-again"), n -> { }).runDir();
        assertEquals(Sha256Of.model(he), Sha256Of.model(heAgain));
    }

    /** model.pt of a run's newest checkpoint. */
    private static final class Sha256Of {
        static String model(Path run) throws IOException {
            return dev.incontext.util.Sha256.hex(Checkpoints.resolve(run).resolve("model.pt"));
        }
    }

    // ------------------------------------------------------------------------------------------ errors

    /** The Garg fixture's state dict, for editing. */
    private static Map<String, Tensor> gargTensors() throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (TorchFile f = TorchFile.open(resource("garg/state.pt"))) {
            Map<?, ?> sd = (Map<?, ?>) ((Map<?, ?>) f.root()).get("model_state_dict");
            for (Map.Entry<?, ?> e : sd.entrySet()) {
                out.put(String.valueOf(e.getKey()), ((TorchFile.StoredTensor) e.getValue()).toTensor());
            }
        }
        return out;
    }

    private static String importError(Map<String, Tensor> sd, Path dir) throws IOException {
        Path file = dir.resolve("edited.pt");
        TorchFile.writeStateDict(file, sd);
        StateDictException e = assertThrows(StateDictException.class, () -> ReferenceCheckpoints.importFile(
                ReferenceModel.GARG, file, null, List.of("model.n_head=2"), dir.resolve("run"), n -> { }));
        assertFalse(Files.exists(dir.resolve("run").resolve("checkpoints")), "nothing written");
        return e.getMessage();
    }

    @Test
    void aMissingTensorIsNamed(@TempDir Path dir) throws IOException {
        Map<String, Tensor> sd = gargTensors();
        sd.remove("_backbone.h.1.mlp.c_fc.bias");
        String m = importError(sd, dir);
        assertTrue(m.contains("missing tensor _backbone.h.1.mlp.c_fc.bias"), m);
    }

    @Test
    void anUnknownTensorIsNamed(@TempDir Path dir) throws IOException {
        Map<String, Tensor> sd = gargTensors();
        sd.put("_backbone.h.0.attn.extra.weight", Tensors.zeros(torch.ScalarType.Float, 3, 4));
        String m = importError(sd, dir);
        assertTrue(m.contains("unknown tensor _backbone.h.0.attn.extra.weight (shape [3, 4])"), m);
    }

    @Test
    void aWrongShapeNamesTheTensorTheExpectedAndTheFoundShape(@TempDir Path dir) throws IOException {
        Map<String, Tensor> sd = gargTensors();
        sd.put("_backbone.h.0.mlp.c_fc.weight", Tensors.zeros(torch.ScalarType.Float, 16, 32));
        sd.remove("_backbone.ln_f.bias");
        String m = importError(sd, dir);
        assertTrue(m.contains("_backbone.h.0.mlp.c_fc.weight: expected shape [16, 64], found [16, 32]"), m);
        assertTrue(m.contains("missing tensor _backbone.ln_f.bias"), "every problem at once: " + m);
    }

    @Test
    void aHeStateDictIsNotAGargOne(@TempDir Path dir) {
        StateDictException e = assertThrows(StateDictException.class, () -> ReferenceCheckpoints.importFile(
                ReferenceModel.GARG, resource("he/model.pt"), null, List.of(), dir.resolve("run"), n -> { }));
        assertTrue(e.getMessage().contains("missing tensor _read_in.weight"), e.getMessage());
    }

    @Test
    void filesThatAreNotTorchSaveFilesAreRefused(@TempDir Path dir) throws IOException {
        Path text = dir.resolve("notes.pt");
        Files.writeString(text, "not a checkpoint");
        IOException e = assertThrows(IOException.class, () -> TorchFile.open(text));
        assertTrue(e.getMessage().contains("is not a torch.save zip file"), e.getMessage());
        Path legacy = dir.resolve("legacy.pt");
        Files.write(legacy, new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10});
        e = assertThrows(IOException.class, () -> TorchFile.open(legacy));
        assertTrue(e.getMessage().contains("legacy format"), e.getMessage());
        Path truncated = dir.resolve("truncated.pt");
        byte[] whole = Files.readAllBytes(resource("he/model.pt"));
        Files.write(truncated, java.util.Arrays.copyOf(whole, whole.length / 2));
        assertThrows(IOException.class, () -> TorchFile.open(truncated));
    }

    /**
     * He et al. save from CUDA: the storages' location is then "cuda:0". The reader takes the bytes whatever the
     * location (libtorch's pickle_load would move them to a device this machine may not have).
     */
    @Test
    void aCheckpointSavedOnAGpuReadsOnTheCpu(@TempDir Path dir) throws IOException {
        Path cuda = dir.resolve("cuda.pt");
        byte[] cpu = {'X', 3, 0, 0, 0, 'c', 'p', 'u'};
        byte[] gpu = {'X', 6, 0, 0, 0, 'c', 'u', 'd', 'a', ':', '0'};
        int replaced = 0;
        try (java.util.zip.ZipFile in = new java.util.zip.ZipFile(resource("he/model.pt").toFile());
             java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(Files.newOutputStream(cuda))) {
            for (var en = in.entries(); en.hasMoreElements(); ) {
                java.util.zip.ZipEntry e = en.nextElement();
                byte[] data = in.getInputStream(e).readAllBytes();
                if (e.getName().endsWith("/data.pkl")) {
                    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
                    for (int i = 0; i < data.length; i++) {
                        if (i + cpu.length <= data.length && java.util.Arrays.equals(data, i, i + cpu.length, cpu, 0,
                                cpu.length)) {
                            b.writeBytes(gpu);
                            i += cpu.length - 1;
                            replaced++;
                        } else {
                            b.write(data[i]);
                        }
                    }
                    data = b.toByteArray();
                }
                java.util.zip.ZipEntry copy = new java.util.zip.ZipEntry(e.getName());
                copy.setMethod(java.util.zip.ZipEntry.STORED);
                copy.setSize(data.length);
                java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                crc.update(data);
                copy.setCrc(crc.getValue());
                out.putNextEntry(copy);
                out.write(data);
                out.closeEntry();
            }
        }
        assertTrue(replaced > 0, "the fixture names its storages' location 'cpu'");
        Path run = ReferenceCheckpoints.importFile(ReferenceModel.HE, cuda, null, List.of(), dir.resolve("run"),
                n -> { }).runDir();
        Path plain = ReferenceCheckpoints.importFile(ReferenceModel.HE, resource("he/model.pt"), null, List.of(),
                dir.resolve("plain"), n -> { }).runDir();
        assertEquals(Sha256Of.model(plain), Sha256Of.model(run));
    }

    // ------------------------------------------------------------------------------------------ Python round trip

    /** A Python with torch, transformers and rotary-embedding-torch: $INCONTEXT_PYTHON, else python3; or null. */
    static String python() {
        String py = System.getenv().getOrDefault("INCONTEXT_PYTHON", "python3");
        try {
            Process p = new ProcessBuilder(py, "-c", "import torch, transformers, rotary_embedding_torch")
                    .redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0 ? py : null;
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }

    private static String check(String py, String kind, Path stateDict, Path expected) throws Exception {
        Process p = new ProcessBuilder(py, "../benchmarks/python/reference_checkpoints.py", "check", kind,
                stateDict.toString(), expected.toString()).redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the Python check timed out");
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void exportsLoadStrictlyInThePythonClasses(@TempDir Path dir) throws Exception {
        String py = python();
        assumeTrue(py != null, "skipped: no Python with torch, transformers and rotary-embedding-torch (set "
                + "INCONTEXT_PYTHON to one) for the round trip import -> export -> load_state_dict(strict=True)");
        Path garg = dir.resolve("garg.pt");
        ReferenceCheckpoints.export(importGarg(dir), ReferenceModel.GARG, garg, ReferenceCheckpoints.GPT2_VOCAB,
                n -> { });
        String out = check(py, "garg", garg, resource("garg/expected.pt").toAbsolutePath());
        assertTrue(out.contains("match"), out);
        for (String name : List.of("he", "he-swiglu")) {
            Path run = ReferenceCheckpoints.importFile(ReferenceModel.HE, resource(name + "/model.pt"), null,
                    List.of(), dir.resolve(name), n -> { }).runDir();
            Path he = dir.resolve(name + ".pt");
            ReferenceCheckpoints.export(run, ReferenceModel.HE, he, 0, n -> { });
            out = check(py, "he", he, resource(name + "/expected.pt").toAbsolutePath());
            assertTrue(out.contains("match"), out);
        }
    }
}
