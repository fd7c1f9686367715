package dev.incontext.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.config.RunConfig.TaskKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigLoaderTest {
    static List<String> shipped() {
        return ConfigLoader.shippedNames();
    }

    @ParameterizedTest
    @MethodSource("shipped")
    void everyShippedConfigLoadsAndRoundTrips(String name) {
        RunKind kind = ConfigLoader.kindOf(name);
        assertEquals(name.startsWith("he_modular") ? RunKind.TOKENS : RunKind.REGRESSION, kind, name);
        RunSpec c = ConfigLoader.load(typed(kind), name, List.of());
        assertEquals(c, ConfigLoader.fromYaml(kind, ConfigLoader.toYaml((Record) c)), "YAML round trip of " + name);
    }

    @SuppressWarnings("unchecked")
    private static <C extends Record & RunSpec> Class<C> typed(RunKind kind) {
        return (Class<C>) kind.type();
    }

    /** The shipped configs are found from the resources: every file there, nothing listed by hand. */
    @Test
    void shippedConfigsAreFoundFromTheResources() {
        List<String> names = ConfigLoader.shippedNames();
        for (String n : List.of("demo", "toy", "linear_regression", "he_modular", "he_modular_paper", "models/tiny",
                "zhang_lsa")) {
            assertTrue(names.contains(n), n + " in " + names);
        }
        assertEquals(names.stream().sorted().toList(), names);
    }

    @Test
    void inheritanceAndOverridesCompose() {
        RunConfig c = ConfigLoader.load(RunConfig.class, "relu_2nn_regression", List.of("model.preset=tiny", "training.steps=7"));
        assertEquals(TaskKind.RELU_2NN_REGRESSION, c.task().name());
        assertEquals(101, c.curriculum().points().end());
        assertEquals(3, c.model().layers());
        assertEquals(7, c.training().steps());
        assertEquals(1.0e-4, c.training().learningRate());  // from base
    }

    @Test
    void filesInheritRelativeFilesAndShippedNames(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("parent.yaml"), "inherit: models/small\ntask: {n_dims: 8}\n");
        Files.writeString(dir.resolve("child.yaml"), "inherit: parent.yaml\ntraining: {batch_size: 16}\n"
                + "curriculum: {dims: {start: 2, end: 8, inc: 1, interval: 10}}\n");
        RunConfig c = ConfigLoader.load(RunConfig.class, dir.resolve("child.yaml").toString(), List.of());
        assertEquals(8, c.task().nDims());
        assertEquals(16, c.training().batchSize());
        assertEquals(6, c.model().layers());
    }

    @Test
    void overridesApplyToASavedConfig() {
        RunConfig saved = ConfigLoader.load(RunConfig.class, "demo", List.of());
        RunConfig c = ConfigLoader.withOverrides(saved, List.of("--eval.num_prompts=256", "seed=7"));
        assertEquals(256, c.eval().numPrompts());
        assertEquals(7, c.seed());
        assertEquals(saved.model(), c.model());
        assertEquals(saved, ConfigLoader.withOverrides(saved, List.of()));
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.withOverrides(saved, List.of("eval.num_promts=1")));
        assertEquals("eval.num_promts", e.key());
    }

    @Test
    void unknownKeyIsNamedWithTheValidOnes() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(RunConfig.class, "demo", List.of("training.stepz=3")));
        assertEquals("training.stepz", e.key());
        assertTrue(e.getMessage().contains("valid keys here are steps, batch_size"), e.getMessage());
    }

    @Test
    void aBlasThatIsNotOfferedIsNamedWithTheChoices() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(RunConfig.class, "demo", List.of("training.blas=atlas")));
        assertTrue(e.getMessage().contains("blas") && e.getMessage().contains("must be auto, mkl or openblas; got "
                + "'atlas'"), e.getMessage());
        assertEquals("openblas", ConfigLoader.load(RunConfig.class, "demo", List.of()).training().blas());
        assertEquals("auto", ConfigLoader.load(RunConfig.class, "toy", List.of()).training().blas());
    }

    @Test
    void unknownEnumValueListsTheChoices() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(RunConfig.class, "demo", List.of("task.name=lineer_regression")));
        assertEquals("task.name", e.key());
        assertTrue(e.getMessage().contains("linear_regression, noisy_linear_regression"), e.getMessage());
    }

    @Test
    void invalidValuesNameTheKey() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(RunConfig.class, "demo", List.of("training.batch_size=0")));
        assertEquals("training.batch_size", e.key());
        e = assertThrows(ConfigException.class, () -> ConfigLoader.load(RunConfig.class, "demo", List.of("training.learning_rate=abc")));
        assertEquals("training.learning_rate", e.key());
        e = assertThrows(ConfigException.class, () -> ConfigLoader.load(RunConfig.class, "demo", List.of("curriculum.points.end=500")));
        assertEquals("curriculum.points.end", e.key());
        e = assertThrows(ConfigException.class, () -> ConfigLoader.load(RunConfig.class, "demo", List.of("model.n_head=3")));
        assertTrue(e.getMessage().contains("not divisible"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> ConfigLoader.load(RunConfig.class, "no_such_config", List.of()));
        assertTrue(e.getMessage().contains("shipped configs: ") && e.getMessage().contains(" demo, "), e.getMessage());
    }

    @Test
    void curriculumIsAPureFunctionOfTheStep() {
        RunConfig c = ConfigLoader.load(RunConfig.class, "linear_regression", List.of());
        assertEquals(5, c.curriculum().dimsAt(0));
        assertEquals(5, c.curriculum().dimsAt(1999));
        assertEquals(6, c.curriculum().dimsAt(2000));
        assertEquals(20, c.curriculum().dimsAt(30000));
        assertEquals(20, c.curriculum().dimsAt(29999 + 1_000_000));
        assertEquals(11, c.curriculum().pointsAt(0));
        assertEquals(13, c.curriculum().pointsAt(2000));
        assertEquals(41, c.curriculum().pointsAt(30000));
        assertEquals(39, c.curriculum().pointsAt(29999));
    }
}
