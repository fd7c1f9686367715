package dev.incontext.eval.baselines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.incontext.model.Predictor;
import dev.incontext.testing.NativeScope;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeScope.class)
class BaselinesTest {
    private static List<String> relevant(String config, String... overrides) {
        BaselineContext ctx = Prompts.context(config, overrides);
        List<BaselineSpec> specs = Baselines.relevant(ctx.task(), List.of(3));
        // Every relevant baseline can be created for its task, and the names are unique.
        Set<String> names = new HashSet<>();
        for (BaselineSpec spec : specs) {
            Predictor p = spec.create(ctx);
            assertTrue(names.add(p.name()), "duplicate name " + p.name() + " in " + specs);
        }
        return specs.stream().map(BaselineSpec::toString).toList();
    }

    /** Garg et al.'s table (papers.md §1.5) plus the Bayes references for noisy and finite-pool tasks. */
    @Test
    void relevantSetsFollowTheReference() {
        assertEquals(List.of("least_squares", "averaging", "knn:3"), relevant("linear_regression"));
        assertEquals(List.of("least_squares", "averaging", "knn:3", "lasso:1", "lasso:0.1", "lasso:0.01",
                "lasso:0.001", "lasso:0.0001"), relevant("sparse_linear_regression"));
        assertEquals(List.of("least_squares", "averaging", "knn:3", "gd_relu_net"), relevant("relu_2nn_regression"));
        assertEquals(List.of("least_squares", "knn:3", "tree:4", "tree", "xgboost", "averaging"),
                relevant("decision_tree"));
        assertEquals(List.of("knn:3", "averaging"), relevant("linear_classification"));
        assertEquals(List.of("least_squares", "averaging", "knn:3", "bayes_ridge"),
                relevant("noisy_linear_regression"));
        assertEquals(List.of("least_squares", "averaging", "knn:3", "dmmse", "bayes_ridge"),
                relevant("linear_regression", "task.num_tasks=16"));
        assertEquals(List.of("least_squares", "averaging", "knn:3", "bayes_ridge", "dmmse"),
                relevant("noisy_linear_regression", "task.num_tasks=16", "task.renormalize_ys=false"));
        assertFalse(relevant("noisy_linear_regression", "task.num_tasks=16", "task.renormalize_ys=true")
                .contains("dmmse"));
        assertEquals(List.of("knn:3", "averaging"), relevant("linear_classification", "task.num_tasks=16"));
        // Ridge at σ²/τ² is Bayes-optimal for dense Gaussian weights only: a sparse pool gets dMMSE, not bayes_ridge.
        List<String> sparsePool = relevant("sparse_linear_regression", "task.num_tasks=16");
        assertTrue(sparsePool.contains("dmmse") && !sparsePool.contains("bayes_ridge"), sparsePool.toString());
    }

    @Test
    void everyKindParsesItsArgumentAndNamesItself() {
        BaselineContext ctx = Prompts.context("linear_regression", "task.n_dims=4");
        assertEquals("Lasso (alpha=0.01)", BaselineSpec.parse("lasso:0.01").create(ctx).name());
        assertEquals("GD (1 step)", BaselineSpec.parse("gd").create(ctx).name());
        assertEquals("GD (3 steps)", BaselineSpec.parse("gd:3").create(ctx).name());
        assertEquals("GD (2 steps, eta=0.1)", BaselineSpec.parse("gd:2:0.1").create(ctx).name());
        assertEquals("2-layer NN (GD)", BaselineSpec.parse("gd_relu_net").create(ctx).name());
        assertEquals("Greedy tree", BaselineSpec.parse("tree").create(ctx).name());
        assertEquals("Greedy tree (depth 4)", BaselineSpec.parse("tree:4").create(ctx).name());
        assertEquals("XGBoost", BaselineSpec.parse("xgboost").create(ctx).name());
        assertEquals("3-NN (1/distance^2)", BaselineSpec.parse("knn:3:inverse_squared_distance").create(ctx).name());
        for (String bad : new String[] {"lasso", "lasso:0", "lasso:-1", "lasso:x", "gd:0", "gd:1:0", "gd:1:2:3",
                "gd:x", "tree:0", "tree:deep", "xgboost:1", "gd_relu_net:5", "dmmse:1", "knn:3:squared"}) {
            String kind = bad.substring(0, bad.indexOf(':') < 0 ? bad.length() : bad.indexOf(':'));
            var e = assertThrows(IllegalArgumentException.class, () -> BaselineSpec.parse(bad).create(ctx), bad);
            assertTrue(e.getMessage().contains("baseline " + kind) && e.getMessage().contains("usage"),
                    bad + ": " + e.getMessage());
        }
    }
}
