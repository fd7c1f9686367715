// Native tests of the attention op: the naive CPU reference against an ATen composition in float64, gradients
// through the op's own autograd, poisoned outputs, awkward shapes, and (when a GPU and a CUDA build are
// present) the CUDA kernels against the float64 reference. Tolerances are written at each check.
#include <cmath>
#include <cstdio>
#include <string>
#include <limits>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/generated/variable_factories.h>

#include "attention/attention.h"
#include <ATen/Parallel.h>

#include "incontext/generator.h"
#include "incontext/ops.h"
#include "testing.h"

using incontext::testing::allclose;
using incontext::testing::Suite;

namespace {

at::Tensor attention_aten(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal) {
  const int64_t T = q.size(2);
  at::Tensor s = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(3)));
  if (causal) {
    const at::Tensor mask = at::ones({T, T}, at::kBool).triu(1);
    s = s.masked_fill(mask, -std::numeric_limits<double>::infinity());
  }
  return at::matmul(at::softmax(s, -1), v);
}

struct Shape {
  int64_t B, H, T, D;
};

}  // namespace

int main(int argc, char** argv) {
  const uint64_t seed = incontext::testing::seed_from_env();
  std::printf("test_attention: seed %llu (set INCONTEXT_SEED to repeat)\n", (unsigned long long)seed);
  at::manual_seed(seed);
  Suite suite(argc, argv);
  // The fast CPU kernel runs the widest build this CPU has (INCONTEXT_CPU_ISA caps it: ctest runs this binary once
  // per build, see CMakeLists.txt); a build the CPU cannot run is reported as skipped.
  if (const int rc = incontext::testing::check_isa_build(suite, "fast CPU attention kernel",
                                                          incontext::attn::fast_isa_name(), /*need_bw=*/true))
    return rc;
#if defined(__x86_64__)
  if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")))
    suite.skip("fast CPU kernel, avx512 build", "this CPU lacks AVX-512");
  if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
    suite.skip("fast CPU kernel, avx2+fma build", "this CPU lacks AVX2/FMA");
#endif
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  // The ops' parallel loops only run in parallel when the op library is compiled with OpenMP; it once was not, and
  // every test still passed because a serial loop gives the same numbers.
  suite.run("the ops split their work over torch's threads (op_threads() == at::get_num_threads() for 1, 2, 3)", [&] {
    const int before = at::get_num_threads();
    bool ok = true;
    for (int n : {1, 2, 3}) {
      at::set_num_threads(n);
      const int64_t got = incontext::op_threads();
      if (got != n) {
        std::printf("  torch threads %d: the ops' parallel loops ran on %lld\n", n, (long long)got);
        ok = false;
      }
    }
    at::set_num_threads(before);
    return ok;
  });

  const Shape shapes[] = {{2, 2, 1, 16}, {1, 3, 2, 32}, {2, 2, 41, 32}, {1, 2, 97, 59}, {1, 1, 82, 64}, {1, 1, 33, 128}};
  for (const Shape& sh : shapes) {
    for (bool causal : {false, true}) {
      char name[128];
      std::snprintf(name, sizeof name, "reference forward, poisoned output, (%lld,%lld,%lld,%lld) causal=%d",
                    (long long)sh.B, (long long)sh.H, (long long)sh.T, (long long)sh.D, causal);
      suite.run(name, [&] {
        const at::Tensor q = at::randn({sh.B, sh.H, sh.T, sh.D}, f64), k = at::randn_like(q), v = at::randn_like(q);
        at::Tensor o = at::full_like(q, std::numeric_limits<double>::quiet_NaN());
        at::Tensor lse = at::full({sh.B, sh.H, sh.T}, std::numeric_limits<double>::quiet_NaN(), f64);
        incontext::attn::FwdParams<double, double> p{q.data_ptr<double>(), k.data_ptr<double>(), v.data_ptr<double>(),
                                                     o.data_ptr<double>(), lse.data_ptr<double>(), sh.B, sh.H, sh.T,
                                                     sh.D, 1.0 / std::sqrt(double(sh.D)), causal,
                                                     incontext::attn::contiguous_strides(sh.H, sh.T, sh.D),
                                                     incontext::attn::contiguous_strides(sh.H, sh.T, sh.D)};
        incontext::attn::forward_reference(p, 0, sh.B * sh.H);
        return allclose("o", o, attention_aten(q, k, v, causal), 1e-12, 1e-12) && at::isfinite(lse).all().item<bool>();
      });
      std::snprintf(name, sizeof name, "gradients vs ATen autograd, float64, (%lld,%lld,%lld,%lld) causal=%d",
                    (long long)sh.B, (long long)sh.H, (long long)sh.T, (long long)sh.D, causal);
      suite.run(name, [&] {
        const at::Tensor q = at::randn({sh.B, sh.H, sh.T, sh.D}, f64).requires_grad_(true);
        const at::Tensor k = at::randn_like(q).requires_grad_(true), v = at::randn_like(q).requires_grad_(true);
        const at::Tensor g = at::randn_like(q);
        const at::Tensor o = incontext::attention(q, k, v, causal);
        const at::Tensor o_ref = attention_aten(q, k, v, causal);
        const auto grads = torch::autograd::grad({o}, {q, k, v}, {g});
        const auto grads_ref = torch::autograd::grad({o_ref}, {q, k, v}, {g});
        // float64 both ways: only summation order differs.
        return allclose("o", o, o_ref, 1e-12, 1e-10) && allclose("dq", grads[0], grads_ref[0], 1e-11, 1e-9) &&
               allclose("dk", grads[1], grads_ref[1], 1e-11, 1e-9) && allclose("dv", grads[2], grads_ref[2], 1e-11, 1e-9);
      });
    }
  }

  // The fused CPU kernels called directly on poisoned outputs: float32 against the float64 reference, forward,
  // lse and all three gradients (random upstream gradient), every listed T and D, causal on and off.
  {
    const int64_t Ts[] = {1, 2, 41, 82, 97, 202, 256, 1025};
    const int64_t Ds[] = {16, 32, 59, 64, 128};
    for (int64_t T : Ts) {
      for (int64_t D : Ds) {
        for (bool causal : {false, true}) {
          const int64_t B = T <= 97 ? 2 : 1, H = T <= 97 ? 3 : (T <= 256 ? 2 : 1);  // keep T=1025 cheap
          const double scale = D == 59 ? 0.3 : 1.0 / std::sqrt(double(D));            // a non-default scale too
          char name[160];
          std::snprintf(name, sizeof name,
                        "fast CPU float32 fwd+bwd within 1e-5 of float64 reference, poisoned, (%lld,%lld,%lld,%lld) causal=%d",
                        (long long)B, (long long)H, (long long)T, (long long)D, causal);
          suite.run(name, [&] {
            using incontext::attn::BwdParams;
            using incontext::attn::FwdParams;
            const incontext::attn::Strides cs = incontext::attn::contiguous_strides(H, T, D);
            const double nan = std::numeric_limits<double>::quiet_NaN();
            const at::Tensor q = at::randn({B, H, T, D}, f64), k = at::randn_like(q), v = at::randn_like(q);
            const at::Tensor g = at::randn_like(q);
            // float64 reference on the float32-rounded inputs, so only the kernel's arithmetic differs.
            const at::Tensor q32 = q.to(at::kFloat), k32 = k.to(at::kFloat), v32 = v.to(at::kFloat), g32 = g.to(at::kFloat);
            const at::Tensor qd = q32.to(at::kDouble), kd = k32.to(at::kDouble), vd = v32.to(at::kDouble), gd = g32.to(at::kDouble);
            at::Tensor o_ref = at::empty_like(qd), lse_ref = at::empty({B, H, T}, f64);
            at::Tensor dq_ref = at::empty_like(qd), dk_ref = at::empty_like(qd), dv_ref = at::empty_like(qd);
            FwdParams<double, double> pr{qd.data_ptr<double>(), kd.data_ptr<double>(), vd.data_ptr<double>(),
                                         o_ref.data_ptr<double>(), lse_ref.data_ptr<double>(), B, H, T, D, scale, causal, cs, cs};
            incontext::attn::forward_reference(pr, 0, B * H);
            BwdParams<double, double> br{qd.data_ptr<double>(), kd.data_ptr<double>(), vd.data_ptr<double>(),
                                         o_ref.data_ptr<double>(), gd.data_ptr<double>(), lse_ref.data_ptr<double>(),
                                         dq_ref.data_ptr<double>(), dk_ref.data_ptr<double>(), dv_ref.data_ptr<double>(),
                                         B, H, T, D, scale, causal, cs, cs};
            incontext::attn::backward_reference(br, 0, B * H);

            at::Tensor o = at::full_like(q32, nan), lse = at::full({B, H, T}, nan, at::kFloat);
            at::Tensor dq = at::full_like(q32, nan), dk = at::full_like(q32, nan), dv = at::full_like(q32, nan);
            FwdParams<float, float> pf{q32.data_ptr<float>(), k32.data_ptr<float>(), v32.data_ptr<float>(),
                                       o.data_ptr<float>(), lse.data_ptr<float>(), B, H, T, D, scale, causal, cs, cs};
            incontext::attn::forward_fast(pf, 0, B * H);
            BwdParams<float, float> bf{q32.data_ptr<float>(), k32.data_ptr<float>(), v32.data_ptr<float>(),
                                       o.data_ptr<float>(), g32.data_ptr<float>(), lse.data_ptr<float>(),
                                       dq.data_ptr<float>(), dk.data_ptr<float>(), dv.data_ptr<float>(),
                                       B, H, T, D, scale, causal, cs, cs};
            incontext::attn::backward_fast(bf, 0, B * H);
            const at::Tensor got[] = {o, lse, dq, dk, dv}, ref[] = {o_ref, lse_ref, dq_ref, dk_ref, dv_ref};
            const char* names[] = {"o", "lse", "dq", "dk", "dv"};
            bool ok = true;
            for (int i = 0; i < 5; ++i) {
              // Tolerance: float32, 1e-5 relative: max |diff| <= 1e-5 max(max |ref|, 1). The floor of 1 (the scale
              // of the unit-normal inputs) matters only where the exact answer is 0: at T = 1 softmax is constant,
              // so dq = dk = 0 exactly and float32 leaves rounding residue of order 1e-8.
              const double ref_max = ref[i].abs().max().item<double>();
              const double e = (got[i].to(at::kDouble) - ref[i]).abs().max().item<double>() / std::max(ref_max, 1.0);
              const bool finite = at::isfinite(got[i]).all().item<bool>();  // a poisoned element left unwritten fails
              if (!(finite && e <= 1e-5)) {
                std::printf("  %s: relative error %.2e (tolerance 1e-5), all finite: %d\n", names[i], e, finite);
                allclose(names[i], got[i], ref[i], 1e-5, 1e-5);  // prints the first mismatching elements
                ok = false;
              }
            }
            return ok;
          });
        }
      }
    }
  }

  suite.run("fast CPU float64 kernels equal the float64 reference to 1e-12, poisoned, (2,3,97,59) causal and not", [&] {
    bool ok = true;
    for (bool causal : {false, true}) {
      const int64_t B = 2, H = 3, T = 97, D = 59;
      const incontext::attn::Strides cs = incontext::attn::contiguous_strides(H, T, D);
      const double nan = std::numeric_limits<double>::quiet_NaN();
      const at::Tensor q = at::randn({B, H, T, D}, f64), k = at::randn_like(q), v = at::randn_like(q), g = at::randn_like(q);
      at::Tensor outs[2][5];
      for (int fast = 0; fast < 2; ++fast) {
        for (int i = 0; i < 5; ++i) outs[fast][i] = i == 1 ? at::full({B, H, T}, nan, f64) : at::full_like(q, nan);
        incontext::attn::FwdParams<double, double> pf{q.data_ptr<double>(), k.data_ptr<double>(), v.data_ptr<double>(),
                                                      outs[fast][0].data_ptr<double>(), outs[fast][1].data_ptr<double>(),
                                                      B, H, T, D, 0.2, causal, cs, cs};
        incontext::attn::BwdParams<double, double> bf{q.data_ptr<double>(), k.data_ptr<double>(), v.data_ptr<double>(),
                                                      outs[fast][0].data_ptr<double>(), g.data_ptr<double>(),
                                                      outs[fast][1].data_ptr<double>(), outs[fast][2].data_ptr<double>(),
                                                      outs[fast][3].data_ptr<double>(), outs[fast][4].data_ptr<double>(),
                                                      B, H, T, D, 0.2, causal, cs, cs};
        if (fast) {
          incontext::attn::forward_fast(pf, 0, B * H);
          incontext::attn::backward_fast(bf, 0, B * H);
        } else {
          incontext::attn::forward_reference(pf, 0, B * H);
          incontext::attn::backward_reference(bf, 0, B * H);
        }
      }
      const char* names[] = {"o", "lse", "dq", "dk", "dv"};
      for (int i = 0; i < 5; ++i) ok = allclose(names[i], outs[1][i], outs[0][i], 1e-12, 1e-11) && ok;
    }
    return ok;
  });

  suite.run("float32 op on non-contiguous inputs: forward and gradients within 1e-5 of the float64 reference", [&] {
    // (B, T, H, D) storage viewed as (B, H, T, D), and a transposed K: the op must honour strides.
    const at::Tensor q = at::randn({2, 82, 3, 32}).transpose(1, 2), k = at::randn({2, 3, 32, 82}).transpose(2, 3);
    const at::Tensor v = at::randn({2, 3, 82, 64}).narrow(3, 10, 32), g = at::randn({2, 3, 82, 32});
    auto run = [&](at::ScalarType dt, bool reference) {
      auto qq = q.to(dt).requires_grad_(true), kk = k.to(dt).requires_grad_(true), vv = v.to(dt).requires_grad_(true);
      auto o = reference ? incontext::attention_reference(qq, kk, vv, true) : incontext::attention(qq, kk, vv, true);
      auto gr = torch::autograd::grad({o}, {qq, kk, vv}, {g.to(dt)});
      return std::vector<at::Tensor>{o, gr[0], gr[1], gr[2]};
    };
    const auto got = run(at::kFloat, false), ref = run(at::kDouble, true);
    bool ok = !q.is_contiguous() && !k.is_contiguous() && !v.is_contiguous();
    const char* names[] = {"o", "dq", "dk", "dv"};
    for (int i = 0; i < 4; ++i) {
      const double e = incontext::testing::rel_err(got[i], ref[i]);
      if (!(e <= 1e-5)) {
        std::printf("  %s: relative error %.2e > 1e-5\n", names[i], e);
        ok = false;
      }
    }
    return ok;
  });

  suite.run("float32 forward and gradients within 1e-5 relative of float64, (2,2,97,59) causal", [&] {
    const at::Tensor q = at::randn({2, 2, 97, 59}, f64), k = at::randn_like(q), v = at::randn_like(q), g = at::randn_like(q);
    auto run = [&](at::ScalarType dt) {
      auto qq = q.to(dt).requires_grad_(true), kk = k.to(dt).requires_grad_(true), vv = v.to(dt).requires_grad_(true);
      auto o = incontext::attention(qq, kk, vv, true);
      auto gr = torch::autograd::grad({o}, {qq, kk, vv}, {g.to(dt)});
      return std::vector<at::Tensor>{o, gr[0], gr[1], gr[2]};
    };
    const auto r32 = run(at::kFloat), r64 = run(at::kDouble);
    bool ok = true;
    const char* names[] = {"o", "dq", "dk", "dv"};
    for (int i = 0; i < 4; ++i) {
      const double e = incontext::testing::rel_err(r32[i], r64[i]);
      std::printf("  %s: relative error %.2e\n", names[i], e);
      ok = ok && e <= 1e-5;
    }
    return ok;
  });

  suite.run("non-contiguous inputs give the result of their contiguous copies", [&] {
    const at::Tensor base = at::randn({2, 41, 3, 32}, f64);  // (B, T, H, D) viewed as (B, H, T, D)
    const at::Tensor q = base.transpose(1, 2), k = at::randn({2, 3, 32, 41}, f64).transpose(2, 3), v = q.flip(2);
    return allclose("o", incontext::attention(q, k, v, true),
                    incontext::attention(q.contiguous(), k.contiguous(), v.contiguous(), true), 0, 0);
  });

  // The GPT-2 layout: q, k and v as head views of one (B, T, 3 H D) projection. The kernels read them where they are
  // and write the output (and the gradients) in (B, T, H, D) memory, so the caller's transpose(1, 2).reshape is a view;
  // the arithmetic is the same in the same order, so everything equals the contiguous copies' results bit for bit.
  suite.run("head views of one projection: read in place, output in (B,T,H,D) memory, bit-identical to contiguous copies", [&] {
    bool ok = true;
    const int64_t B = 2, T = 41, H = 3;
    for (at::ScalarType dt : {at::kFloat, at::kDouble, at::kBFloat16}) {
      for (int64_t D : {32, 20}) {
        for (bool causal : {true, false}) {
          const at::Tensor proj = at::randn({B, T, 3 * H * D}).to(dt).requires_grad_(true);
          const at::Tensor G = at::randn({B, T, H * D}).to(dt);
          const auto parts = proj.split(H * D, 2);
          auto heads = [&](const at::Tensor& x) { return x.view({B, T, H, D}).transpose(1, 2); };
          const at::Tensor o = incontext::attention(heads(parts[0]), heads(parts[1]), heads(parts[2]), causal);
          const at::Tensor merged = o.transpose(1, 2);
          const bool layout = merged.is_contiguous();
          const auto dproj = torch::autograd::grad({(merged.reshape({B, T, H * D}) * G).sum()}, {proj})[0];

          std::vector<at::Tensor> c;
          for (int i = 0; i < 3; ++i) c.push_back(heads(parts[i]).detach().contiguous().requires_grad_(true));
          const at::Tensor oc = incontext::attention(c[0], c[1], c[2], causal);
          const auto gc = torch::autograd::grad({oc}, {c[0], c[1], c[2]}, {G.view({B, T, H, D}).transpose(1, 2)});
          const at::Tensor dproj_c =
              at::cat({gc[0].transpose(1, 2).reshape({B, T, H * D}), gc[1].transpose(1, 2).reshape({B, T, H * D}),
                       gc[2].transpose(1, 2).reshape({B, T, H * D})}, 2);
          const bool same = allclose("o", o.to(at::kDouble), oc.to(at::kDouble), 0, 0) &&
                            allclose("d proj", dproj.to(at::kDouble), dproj_c.to(at::kDouble), 0, 0);
          if (!layout || !same) {
            std::printf("  %s D=%lld causal=%d: output in (B,T,H,D) memory %d, equal %d\n",
                        std::string(c10::toString(dt)).c_str(), (long long)D, causal, layout, same);
            ok = false;
          }
        }
      }
    }
    return ok;
  });

  // The kernels check finiteness as they read; for head views (rows ld apart) that is a separate strided pass. An
  // infinity or a NaN anywhere in q, k or v must be found and named: first and last rows (T odd: the pass takes rows
  // in pairs), first and last columns (D = 20: a vector and a scalar tail), float32 and float64.
  suite.run("head views: a NaN or an infinity anywhere in q, k or v is found and named", [&] {
    bool ok = true;
    const int64_t B = 2, T = 41, H = 3;
    for (at::ScalarType dt : {at::kFloat, at::kDouble}) {
      for (int64_t D : {32, 20}) {
        for (int which = 0; which < 3; ++which) {
          for (int64_t t : {int64_t(0), T - 1}) {
            for (int64_t d : {int64_t(0), D - 1}) {
              for (bool nan : {false, true}) {
                at::Tensor proj = at::randn({B, T, 3 * H * D}).to(dt);
                proj[1][t][which * H * D + 2 * D + d] = nan ? std::numeric_limits<double>::quiet_NaN()
                                                            : -std::numeric_limits<double>::infinity();
                const auto parts = proj.split(H * D, 2);
                auto heads = [&](const at::Tensor& x) { return x.view({B, T, H, D}).transpose(1, 2); };
                const char* arg = which == 0 ? "argument 'q' contains " : which == 1 ? "argument 'k' contains "
                                                                                     : "argument 'v' contains ";
                const std::string needle = std::string(arg) + (nan ? "NaN" : "an infinity") + " (first at index [1, 2, " +
                                           std::to_string(t) + ", " + std::to_string(d) + "])";
                if (!incontext::testing::raises_containing(needle.c_str(), [&] {
                      incontext::attention(heads(parts[0]), heads(parts[1]), heads(parts[2]), true);
                    })) {
                  ok = false;
                }
              }
            }
          }
        }
      }
    }
    return ok;
  });

  suite.run("bad arguments raise c10::Error naming the argument", [&] {
    const at::Tensor q = at::randn({2, 2, 8, 16}, f64);
    int raised = 0;
    auto expect = [&](const char* needle, const std::function<void()>& f) {
      raised += incontext::testing::raises_containing(needle, f) ? 1 : 0;
    };
    expect("'q' must be a 4-D tensor", [&] { incontext::attention(q[0], q, q, false); });
    expect("'k' must have the shape of 'q'", [&] { incontext::attention(q, q.narrow(0, 0, 1), q, false); });
    expect("must have dtype", [&] { incontext::attention(q.to(at::kInt), q.to(at::kInt), q.to(at::kInt), false); });
    expect("'k' must have the dtype and device of 'q'",
           [&] { incontext::attention(q.to(at::kBFloat16), q.to(at::kFloat), q.to(at::kBFloat16), false); });
    expect("contains NaN", [&] {
      at::Tensor bad = q.clone();
      bad[1][0][3][2] = std::numeric_limits<double>::quiet_NaN();
      incontext::attention(q, bad, q, false);
    });
    expect("sequence length T", [&] { incontext::attention(q.narrow(2, 0, 0), q.narrow(2, 0, 0), q.narrow(2, 0, 0), false); });
    return raised == 6;
  });

  suite.cuda_section();
  const bool cuda = at::globalContext().hasCUDA();
  if (!cuda) {
    suite.skip("CUDA kernels vs float64 reference", "no CUDA device or this libtorch has no CUDA");
  } else {
    // The grid: every T and D, both fast-path and fallback shapes, plus the small shapes above.
    std::vector<Shape> cuda_shapes(std::begin(shapes), std::end(shapes));
    for (int64_t T : {1, 2, 41, 82, 97, 202, 256, 1025})
      for (int64_t D : {16, 32, 59, 64, 128}) cuda_shapes.push_back({T <= 256 ? 3 : 1, 2, T, D});
    for (at::ScalarType dt : {at::kFloat, at::kBFloat16, at::kHalf}) {
      for (const Shape& sh : cuda_shapes) {
        for (bool causal : {false, true}) {
          char name[160];
          std::snprintf(name, sizeof name, "CUDA %s forward+backward vs float64, (%lld,%lld,%lld,%lld) causal=%d",
                        c10::toString(dt), (long long)sh.B, (long long)sh.H, (long long)sh.T, (long long)sh.D, causal);
          suite.run(name, [&] {
            const at::Tensor q = at::randn({sh.B, sh.H, sh.T, sh.D}, f64), k = at::randn_like(q), v = at::randn_like(q);
            const at::Tensor g = at::randn_like(q);
            auto run = [&](at::ScalarType t, at::Device dev, bool naive_aten) {
              auto qq = q.to(dev, t).requires_grad_(true), kk = k.to(dev, t).requires_grad_(true),
                   vv = v.to(dev, t).requires_grad_(true);
              auto o = naive_aten ? attention_aten(qq, kk, vv, causal) : incontext::attention(qq, kk, vv, causal);
              auto gr = torch::autograd::grad({o}, {qq, kk, vv}, {g.to(dev, t)});
              return std::vector<at::Tensor>{o, gr[0], gr[1], gr[2]};
            };
            const auto ref = run(at::kDouble, at::kCPU, false);
            const auto got = run(dt, at::kCUDA, false);
            const auto naive = run(dt, at::kCUDA, true);  // the same math in the same precision, through ATen
            bool ok = true;
            const char* names[] = {"o", "dq", "dk", "dv"};
            for (int i = 0; i < 4; ++i) {
              // max |diff| / max(max |ref|, 1): the floor of 1 (unit-normal inputs) matters only where the exact
              // gradient is 0 (T = 1 gives dq = dk = 0).
              auto err = [&](const at::Tensor& a) {
                const at::Tensor r = ref[i].to(at::kDouble).cpu();
                return (a.to(at::kDouble).cpu() - r).abs().max().item<double>() /
                       std::max(r.abs().max().item<double>(), 1.0);
              };
              const double e = err(got[i]);
              const double e_naive = err(naive[i]);
              // float32: 1e-5 relative; 16-bit: at most twice the naive same-precision error (plus a floor).
              const double tol = dt == at::kFloat ? 1e-5 : 2 * e_naive + 1e-3;
              if (!(e <= tol)) {
                std::printf("  %s: relative error %.2e > tolerance %.2e (naive %.2e)\n", names[i], e, tol, e_naive);
                ok = false;
              }
            }
            return ok;
          });
        }
      }
    }
  }
  if (cuda) {
    suite.run("CUDA float32 on non-contiguous inputs within 1e-5 of the float64 reference", [&] {
      const at::Tensor q = at::randn({2, 82, 3, 32}).transpose(1, 2), k = at::randn({2, 3, 32, 82}).transpose(2, 3);
      const at::Tensor v = at::randn({2, 3, 82, 64}).narrow(3, 10, 32), g = at::randn({2, 3, 82, 32});
      auto run = [&](at::ScalarType dt, at::Device dev) {
        auto qq = q.to(dev, dt).requires_grad_(true), kk = k.to(dev, dt).requires_grad_(true),
             vv = v.to(dev, dt).requires_grad_(true);
        auto o = incontext::attention(qq, kk, vv, true);
        auto gr = torch::autograd::grad({o}, {qq, kk, vv}, {g.to(dev, dt)});
        return std::vector<at::Tensor>{o, gr[0], gr[1], gr[2]};
      };
      const auto got = run(at::kFloat, at::kCUDA), ref = run(at::kDouble, at::kCPU);
      bool ok = true;
      for (int i = 0; i < 4; ++i) ok = incontext::testing::rel_err(got[i], ref[i]) <= 1e-5 && ok;
      return ok;
    });
  }
  return suite.finish();
}
