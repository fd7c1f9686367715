package dev.incontext.config;

import dev.incontext.config.RunConfig.TrainingConfig;
import java.util.Locale;

/**
 * What every run has, whatever it trains: a seed, a device, a run directory and the optimisation section. One record,
 * shared by the regression config ({@link RunConfig}) and the token config ({@link ModularConfig}); its keys sit at
 * the top level of either config's YAML ({@code seed}, {@code device}, {@code out_dir}, {@code training.*}).
 */
public record RunBasics(long seed, String device, String outDir, TrainingConfig training) {
    public RunBasics {
        String d = device.toLowerCase(Locale.ROOT);
        if (!(d.equals("cpu") || d.equals("cuda") || d.matches("cuda:\\d+"))) {
            throw new ConfigException("device", "expected cpu, cuda or cuda:N; got '" + device + "'");
        }
        if (outDir.isBlank()) {
            throw new ConfigException("out_dir", "must not be empty");
        }
    }

    /** A copy with another run directory. */
    public RunBasics withOutDir(String dir) {
        return new RunBasics(seed, device, dir, training);
    }
}
