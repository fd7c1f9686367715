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

    /** Lasso's alphas in Garg et al.'s sparse-regression comparison. */
    static final List<String> LASSO_ALPHAS = List.of("1", "0.1", "0.01", "0.001", "0.0001");

    /**
     * The relevant baselines of a task family (Garg et al.'s table, papers.md §1.5), with k-NN at each of
     * {@code knnK}; noisy regression adds the Bayes-optimal ridge, and a linear task over a finite pool
     * (num_tasks &gt; 0) adds dMMSE and ridge, the two Bayes references of Raventós et al. One exhaustive switch: a new
     * task family does not compile until it declares its baselines.
     */
    public static List<BaselineSpec> relevant(TaskConfig task, List<Integer> knnK) {
        List<String> s = new ArrayList<>();
        List<String> knn = knnK.stream().map(k -> "knn:" + k).toList();
        boolean linear = false;
        switch (task.name()) {
            case LINEAR_REGRESSION -> {
                s.addAll(List.of("least_squares", "averaging"));
                s.addAll(knn);
                linear = true;
            }
            case NOISY_LINEAR_REGRESSION -> {
                s.addAll(List.of("least_squares", "averaging"));
                s.addAll(knn);
                s.add("bayes_ridge");
                linear = true;
            }
            case SPARSE_LINEAR_REGRESSION -> {
                s.addAll(List.of("least_squares", "averaging"));
                s.addAll(knn);
                LASSO_ALPHAS.forEach(a -> s.add("lasso:" + a));
                linear = true;
            }
            case QUADRATIC_REGRESSION -> {
                s.addAll(List.of("least_squares", "averaging"));
                s.addAll(knn);
            }
            case RELU_2NN_REGRESSION -> {
                s.addAll(List.of("least_squares", "averaging"));
                s.addAll(knn);
                s.add("gd_relu_net");
            }
            case DECISION_TREE -> {
                s.add("least_squares");
                s.addAll(knn);
                s.addAll(List.of("tree:4", "tree", "xgboost", "averaging"));
            }
            case LINEAR_CLASSIFICATION -> {
                s.addAll(knn);
                s.add("averaging");
            }
        }
        // dMMSE needs the pool's weights to give the labels' likelihood, which renormalised labels break.
        if (linear && task.numTasks() > 0 && !task.renormalizeYs()) {
            s.add("dmmse");
            if (!s.contains("bayes_ridge")) {
                s.add("bayes_ridge");
            }
        }
        return s.stream().map(BaselineSpec::parse).toList();
    }
}
