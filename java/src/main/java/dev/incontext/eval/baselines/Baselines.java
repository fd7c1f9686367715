package dev.incontext.eval.baselines;

import dev.incontext.config.RunConfig.EvalConfig;
import dev.incontext.config.RunConfig.TaskConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Which baselines a task is compared with (Garg et al.'s {@code get_relevant_baselines}, papers.md §1.5, extended
 * with the Bayes-optimal predictors of §9.8–9.9). {@code eval.baselines} in config replaces the list.
 */
public final class Baselines {
    private Baselines() {}

    /** {@code eval.baselines} when set, else the task family's relevant set. */
    public static List<BaselineSpec> forEval(TaskConfig task, EvalConfig eval) {
        if (!eval.baselines().isEmpty()) {
            return eval.baselines().stream().map(BaselineSpec::parse).toList();
        }
        return relevant(task, eval.knnK());
    }

    /** The relevant baselines of a task family, with k-NN at each of {@code knnK}. */
    public static List<BaselineSpec> relevant(TaskConfig task, List<Integer> knnK) {
        List<String> s = new ArrayList<>();
        switch (task.name()) {
            case LINEAR_REGRESSION, QUADRATIC_REGRESSION -> s.addAll(List.of("least_squares", "averaging"));
            case NOISY_LINEAR_REGRESSION -> s.addAll(List.of("least_squares", "bayes_ridge", "averaging"));
            case SPARSE_LINEAR_REGRESSION -> s.addAll(List.of("least_squares", "averaging"));
            case RELU_2NN_REGRESSION -> s.addAll(List.of("least_squares", "averaging"));
            case DECISION_TREE -> s.addAll(List.of("least_squares", "averaging"));
            case LINEAR_CLASSIFICATION -> s.add("averaging");
        }
        for (int k : knnK) {
            s.add("knn:" + k);
        }
        return s.stream().map(BaselineSpec::parse).toList();
    }
}
