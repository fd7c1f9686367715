package dev.incontext.eval.baselines;

import dev.incontext.config.ConfigException;
import dev.incontext.config.RunConfig.EvalConfig;
import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.tasks.TaskFamily;
import java.util.ArrayList;
import java.util.List;

/**
 * Which baselines a task is compared with (Garg et al.'s {@code get_relevant_baselines}, papers.md §1.5, extended
 * with the Bayes-optimal predictors of §9.8–9.9). {@code eval.baselines} in config replaces the list.
 */
public final class Baselines {
    private Baselines() {}

    /**
     * Refuses, before any work, an {@code eval.baselines} entry that does not name a baseline with valid arguments:
     * a {@link ConfigException} on {@code eval.baselines} naming the entry and the valid forms.
     */
    public static EvalConfig validate(EvalConfig eval) {
        for (String b : eval.baselines()) {
            try {
                BaselineSpec.parse(b);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("eval.baselines", e.getMessage());
            }
        }
        return eval;
    }

    /** {@code eval.baselines} when set, else the task family's relevant set. */
    public static List<BaselineSpec> forEval(TaskConfig task, EvalConfig eval) {
        if (!eval.baselines().isEmpty()) {
            return eval.baselines().stream().map(BaselineSpec::parse).toList();
        }
        return relevant(task, eval.knnK());
    }

    /**
     * The relevant baselines of a task (papers.md §1.5): those its family declares
     * ({@link TaskFamily#relevantBaselines}), with k-NN at each of {@code knnK}; a linear task over a finite pool
     * (num_tasks &gt; 0) adds dMMSE, and a dense one also ridge: the two Bayes references of Raventós et al. (ridge at
     * σ²/τ² is the posterior mean under dense Gaussian weights only, so sparse pools do not get it).
     */
    public static List<BaselineSpec> relevant(TaskConfig task, List<Integer> knnK) {
        TaskFamily family = TaskFamily.of(task);
        List<String> s = new ArrayList<>(family.relevantBaselines(knnK.stream().map(k -> "knn:" + k).toList()));
        boolean linear = family.linear();
        // dMMSE needs the pool's weights to give the labels' likelihood, which renormalised labels break.
        if (linear && task.numTasks() > 0 && !task.renormalizeYs()) {
            s.add("dmmse");
            // Ridge at σ²/τ² is the Bayes predictor of the dense Gaussian prior only: not of sparse weights.
            if (family instanceof TaskFamily.Linear && !s.contains("bayes_ridge")) {
                s.add("bayes_ridge");
            }
        }
        return s.stream().map(BaselineSpec::parse).toList();
    }
}
