package dev.incontext.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.incontext.config.ConfigLoader;
import dev.incontext.config.RunConfig;
import dev.incontext.config.RunConfig.TrainingConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScheduleTest {
    private static TrainingConfig t(String... overrides) {
        return ConfigLoader.load(RunConfig.class, "demo", List.of(overrides)).training();
    }

    @Test
    void constantWithAndWithoutWarmup() {
        assertEquals(1e-3, Schedule.lr(t("training.learning_rate=1e-3"), 123));
        TrainingConfig w = t("training.learning_rate=1e-3", "training.warmup_steps=10");
        assertEquals(1e-4, Schedule.lr(w, 0), 1e-15);
        assertEquals(1e-3, Schedule.lr(w, 9), 1e-15);
        assertEquals(1e-3, Schedule.lr(w, 500), 1e-15);
    }

    @Test
    void warmupCosineEndsAtZero() {
        TrainingConfig c = t("training.schedule=warmup_cosine", "training.steps=110", "training.warmup_steps=10",
                "training.learning_rate=2.0");
        assertEquals(0.2, Schedule.lr(c, 0), 1e-12);
        assertEquals(2.0, Schedule.lr(c, 10), 1e-12);
        assertEquals(1.0, Schedule.lr(c, 60), 1e-12);
        assertEquals(0.0, Schedule.lr(c, 110), 1e-12);
    }

    @Test
    void triangleRisesThenFalls() {
        TrainingConfig c = t("training.schedule=triangle", "training.steps=100", "training.learning_rate=1.0");
        assertEquals(0.02, Schedule.lr(c, 0), 1e-12);
        assertEquals(1.0, Schedule.lr(c, 49), 1e-12);
        assertEquals(0.5, Schedule.lr(c, 75), 1e-12);
        assertEquals(0.0, Schedule.lr(c, 100), 1e-12);
    }
}
