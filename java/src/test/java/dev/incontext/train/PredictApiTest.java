package dev.incontext.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.util.Tensors;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java API for JVM services: load a checkpoint, predict from many threads; and the README's example. */
class PredictApiTest {
    @Test
    void predictFromManyThreadsMatchesOneThread(@TempDir Path dir) throws Exception {
        try (PointerScope scope = new PointerScope()) {
            new Trainer().train(TrainerTest.tiny(dir, "training.save_every=10"), null);
        }
        TrainedModel model = TrainedModel.load(dir);
        int threads = 8;
        int calls = 10;
        List<Tensor[]> prompts = new ArrayList<>();
        List<double[]> expected = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Tensor xs = Tensors.randn(torch.ScalarType.Float, 4, 11, 5);
            Tensor ys = Tensors.randn(torch.ScalarType.Float, 4, 11);
            prompts.add(new Tensor[] {xs, ys});
            expected.add(values(model.predict(xs, ys)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                results.add(pool.submit(() -> {
                    boolean same = true;
                    for (int c = 0; c < calls; c++) {
                        try (PointerScope scope = new PointerScope()) {
                            double[] got = values(model.predict(prompts.get(id)[0], prompts.get(id)[1]));
                            same &= Arrays.equals(got, expected.get(id));
                        }
                    }
                    return same;
                }));
            }
            for (Future<Boolean> f : results) {
                assertTrue(f.get(), "a concurrent prediction differed from the single-threaded one");
            }
        } finally {
            pool.shutdown();
        }
    }

    private static double[] values(Tensor t) {
        Tensor d = t.to(torch.ScalarType.Double).contiguous();
        double[] out = new double[(int) d.numel()];
        d.data_ptr_double().get(out);
        return out;
    }

    /** Extracts the Java example from README.md, compiles it against the library and runs it on a trained model. */
    @Test
    void readmeExampleCompilesAndRuns(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
        String marker = "<!-- readme-example: PredictExample -->";
        int at = readme.indexOf(marker);
        assertTrue(at >= 0, "README.md lacks the marked example");
        int start = readme.indexOf("```java", at) + "```java".length();
        int end = readme.indexOf("```", start);
        Path src = dir.resolve("PredictExample.java");
        Files.writeString(src, readme.substring(start, end));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, "-cp", System.getProperty("java.class.path"), "-d", dir.toString(),
                src.toString());
        assertEquals(0, rc, "README example does not compile:\n" + err);

        Path run = dir.resolve("run");
        try (PointerScope scope = new PointerScope()) {
            new Trainer().train(TrainerTest.tiny(run, "training.save_every=10"), null);
        }
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream old = System.out;
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
            Method main = loader.loadClass("PredictExample").getMethod("main", String[].class);
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            main.invoke(null, (Object) new String[] {run.toString()});
        } finally {
            System.setOut(old);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("prompt 0: predicted"), "unexpected output: " + out);
    }
}
