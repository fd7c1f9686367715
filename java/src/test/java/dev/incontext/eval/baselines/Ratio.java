package dev.incontext.eval.baselines;

/** A ratio of sums over independent prompts, with its jackknife standard error (prompts are the sampling unit). */
final class Ratio {
    private Ratio() {}

    /** {sum(num) / sum(den), jackknife standard error}. */
    static double[] jackknife(double[] num, double[] den) {
        int b = num.length;
        double sn = 0;
        double sd = 0;
        for (int i = 0; i < b; i++) {
            sn += num[i];
            sd += den[i];
        }
        double[] leaveOut = new double[b];
        double mean = 0;
        for (int i = 0; i < b; i++) {
            leaveOut[i] = (sn - num[i]) / (sd - den[i]);
            mean += leaveOut[i] / b;
        }
        double ss = 0;
        for (double v : leaveOut) {
            ss += (v - mean) * (v - mean);
        }
        return new double[] {sn / sd, Math.sqrt((b - 1.0) / b * ss)};
    }
}
