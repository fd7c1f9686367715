package dev.incontext.eval;

/**
 * How closely two predictors agree per number of in-context examples k (Akyürek et al., papers.md §4.5), on fresh
 * probe queries: SPD(k) = E (A(D_k)(x') − B(D_k)(x'))² / normaliser; ILWD(k) = E ‖ŵ_A − ŵ_B‖² / d with each
 * predictor's implicit weights fitted by least squares to its predictions at the probe points; MSPD = SPD averaged
 * over k &lt; d.
 */
public record Agreement(String setting, String a, String b, double[] spd, double[] ilwd, double mspd) {}
