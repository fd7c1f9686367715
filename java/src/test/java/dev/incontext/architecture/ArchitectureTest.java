package dev.incontext.architecture;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The one-way layering of DESIGN.md, checked on the compiled classes: cli -> experiments -> sweep -> report ->
 * interop -> eval / train -> model -> tasks -> config / ops -> util (interop: checkpoints of the papers' own PyTorch
 * code in and out). A layer may use any layer below it and none above; eval and
 * train do not use each other, nor config and ops; and no two packages depend on each other through any path.
 */
@AnalyzeClasses(packages = "dev.incontext", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String[] ABOVE_REPORT = {"cli", "experiments", "sweep"};

    @ArchTest
    static final ArchRule layers = layeredArchitecture().consideringOnlyDependenciesInLayers()
            .layer("cli").definedBy("dev.incontext.cli..")
            .layer("experiments").definedBy("dev.incontext.experiments..")
            .layer("sweep").definedBy("dev.incontext.sweep..")
            .layer("report").definedBy("dev.incontext.report..")
            .layer("interop").definedBy("dev.incontext.interop..")
            .layer("eval").definedBy("dev.incontext.eval..")
            .layer("train").definedBy("dev.incontext.train..")
            .layer("model").definedBy("dev.incontext.model..")
            .layer("tasks").definedBy("dev.incontext.tasks..")
            .layer("config").definedBy("dev.incontext.config..")
            .layer("ops").definedBy("dev.incontext.ops..")
            .layer("util").definedBy("dev.incontext.util..")
            .whereLayer("cli").mayNotBeAccessedByAnyLayer()
            .whereLayer("experiments").mayOnlyBeAccessedByLayers("cli")
            .whereLayer("sweep").mayOnlyBeAccessedByLayers("cli", "experiments")
            .whereLayer("report").mayOnlyBeAccessedByLayers(ABOVE_REPORT)
            .whereLayer("interop").mayOnlyBeAccessedByLayers("cli", "experiments", "sweep", "report")
            .whereLayer("eval").mayOnlyBeAccessedByLayers("cli", "experiments", "sweep", "report")
            .whereLayer("train").mayOnlyBeAccessedByLayers("cli", "experiments", "sweep", "report", "interop")
            .whereLayer("model").mayOnlyBeAccessedByLayers("cli", "experiments", "sweep", "report", "interop", "eval",
                    "train")
            .whereLayer("tasks").mayOnlyBeAccessedByLayers("cli", "experiments", "sweep", "report", "interop", "eval",
                    "train", "model")
            .whereLayer("config").mayOnlyBeAccessedByLayers("cli", "experiments", "sweep", "report", "interop", "eval",
                    "train", "model", "tasks")
            .whereLayer("ops").mayOnlyBeAccessedByLayers("cli", "experiments", "sweep", "report", "interop", "eval",
                    "train", "model", "tasks")
            .whereLayer("util").mayOnlyBeAccessedByLayers("cli", "experiments", "sweep", "report", "interop", "eval",
                    "train", "model", "tasks", "config", "ops");

    @ArchTest
    static final ArchRule noPackageCycles = slices().matching("dev.incontext.(**)").should().beFreeOfCycles();
}
