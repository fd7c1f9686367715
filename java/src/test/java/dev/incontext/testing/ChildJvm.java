package dev.incontext.testing;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.incontext.ops.Blas;
import dev.incontext.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * For tests that need a real second process: the command line of the CLI in a JVM of its own, on this JVM's class
 * path and BLAS (so its losses are comparable bit for bit with this JVM's on one machine); and a run's metrics
 * records without their timing, to compare two runs' metrics.
 */
public final class ChildJvm {
    private ChildJvm() {}

    /** {@code java ... dev.incontext.cli.Main}, then {@code jvmArgs} before the class, {@code args} after it. */
    public static List<String> cli(List<String> jvmArgs, List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xss8m", "-D" + Blas.PROPERTY + "=" + (Blas.isMkl() ? "mkl" : "openblas")));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.incontext.cli.Main"));
        cmd.addAll(args);
        return cmd;
    }

    /** metrics.jsonl's records without {@code steps_per_s}, which differs from run to run. */
    public static List<String> records(Path metrics) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            ObjectNode r = (ObjectNode) Json.parse(line);
            r.remove("steps_per_s");
            out.add(r.toString());
        }
        return out;
    }
}
