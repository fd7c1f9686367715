package dev.incontext.eval;

import dev.incontext.config.RunConfig.TaskConfig;
import dev.incontext.config.RunConfig.TaskKind;
import dev.incontext.config.RunConfig.XDistribution;
import dev.incontext.tasks.TaskFamily;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A named set of evaluation settings, and whether agreement (SPD/ILWD) between the model and each baseline is
 * measured. {@link Named} are the papers' suites; {@link #of} builds any other.
 *
 * @param agreement measure SPD and ILWD of the model against each baseline in the first setting
 */
public record EvalSuite(String name, List<Setting> settings, boolean agreement) {
    public EvalSuite {
        settings = List.copyOf(settings);
        if (settings.isEmpty()) {
            throw new IllegalArgumentException("suite " + name + " has no settings");
        }
    }

    public static EvalSuite of(String name, boolean agreement, Setting... settings) {
        return new EvalSuite(name, Arrays.asList(settings), agreement);
    }

    /** The papers' suites, by the name {@code incontext eval --suite NAME} takes. */
    public enum Named {
        /** The training distribution only. */
        STANDARD("the training distribution only") {
            @Override
            public EvalSuite suite(TaskConfig trained) {
                return of("standard", false, new Setting.Standard());
            }
        },
        /**
         * Garg et al. §1.6: for the linear families every shift they evaluate (skewed, half subspace, orthants with
         * a Gaussian query, orthogonal and overlapping queries, x and y scaled by 1/3, 1/2, 2, 3, noisy labels);
         * ReLU-net models also on linear prompts; other tasks the training distribution.
         */
        GARG("Garg et al.'s distribution shifts") {
            @Override
            public EvalSuite suite(TaskConfig trained) {
                List<Setting> s = new ArrayList<>(List.of(new Setting.Standard()));
                if (TaskFamily.of(trained).linear()) {
                    s.add(new Setting.Covariance(XDistribution.SKEWED));
                    s.add(new Setting.Covariance(XDistribution.HALF_SUBSPACE));
                    s.add(new Setting.OrthantsGaussianQuery());
                    s.add(new Setting.OrthogonalQuery());
                    s.add(new Setting.OverlappingQuery());
                    for (double c : SCALES) {
                        s.add(new Setting.ScaleX(c));
                    }
                    for (double c : SCALES) {
                        s.add(new Setting.ScaleY(c));
                    }
                    s.add(new Setting.NoisyLabels(1.0));
                }
                if (trained.name() == TaskKind.RELU_2NN_REGRESSION) {
                    s.add(new Setting.OtherTask(TaskKind.LINEAR_REGRESSION));
                }
                return new EvalSuite("garg", s, false);
            }
        },
        /** Zhang et al. §2.5: random covariances c diag(Exp(1)), c = 1, 4, 9, and prompts longer than training. */
        ZHANG("Zhang et al.'s covariate shifts and longer prompts") {
            @Override
            public EvalSuite suite(TaskConfig trained) {
                return of("zhang", false, new Setting.Standard(), new Setting.RandomCovariance(1),
                        new Setting.RandomCovariance(4), new Setting.RandomCovariance(9), new Setting.ScaleX(2),
                        new Setting.OrthogonalQuery(), new Setting.LongerPrompts(2));
            }
        },
        /** Akyürek et al. §4.5: the training distribution with SPD and ILWD against every baseline. */
        AKYUREK("Akyürek et al.'s agreement (SPD, ILWD) with each baseline") {
            @Override
            public EvalSuite suite(TaskConfig trained) {
                return of("akyurek", true, new Setting.Standard());
            }
        },
        /** Raventós et al. §6: the pool the model was trained on ("pretrain") and fresh tasks ("latent"). */
        RAVENTOS("Raventós et al.'s pretraining pool against fresh tasks") {
            @Override
            public EvalSuite suite(TaskConfig trained) {
                return of("raventos", false, new Setting.Standard(), new Setting.FreshTasks());
            }
        };

        private static final double[] SCALES = {1.0 / 3, 0.5, 2, 3};
        private final String description;

        Named(String description) {
            this.description = description;
        }

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        public String description() {
            return description;
        }

        /** The suite for a model trained on {@code trained}. */
        public abstract EvalSuite suite(TaskConfig trained);

        public static Named byId(String id) {
            for (Named n : values()) {
                if (n.id().equals(id.toLowerCase(Locale.ROOT))) {
                    return n;
                }
            }
            throw new IllegalArgumentException("unknown suite '" + id + "'; valid: "
                    + Arrays.stream(values()).map(Named::id).collect(Collectors.joining(", ")));
        }
    }
}
