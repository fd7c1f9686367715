// Tests of the GELU kernel (gelu/gelu.h) and the gelu_tanh op against float64: the forward value and the gradient on
// random, swept and extreme inputs, every tail length, strided inputs, libtorch's gelu(x, "tanh"), and bad arguments.
// CPU only; ctest runs the binary once per instruction-set build.
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include "gelu/gelu.h"
#include "incontext/ops.h"
#include "testing.h"

using incontext::testing::allclose;
using incontext::testing::raises_containing;
using incontext::testing::Suite;

namespace {

const double kSqrt2OverPi = std::sqrt(2.0 / M_PI);

// In float64, the sigmoid form of the tanh-GELU (x / (1 + exp(-2u))): mathematically libtorch's 0.5 x (1 + tanh(u)),
// without its cancellation where tanh(u) is near -1 (there float64's 1 + tanh(u) keeps only a few digits).
at::Tensor gelu64(const at::Tensor& x32) {
  const at::Tensor x = x32.to(at::kDouble);
  return x / (1 + at::exp(-2 * kSqrt2OverPi * (x + 0.044715 * x * x * x)));
}

at::Tensor gelu_grad64(const at::Tensor& dy32, const at::Tensor& x32) {
  const at::Tensor x = x32.to(at::kDouble), dy = dy32.to(at::kDouble);
  const at::Tensor s = 1 / (1 + at::exp(-2 * kSqrt2OverPi * (x + 0.044715 * x * x * x)));
  return dy * (s + x * s * (1 - s) * 2 * kSqrt2OverPi * (1 + 3 * 0.044715 * x * x));
}

// Random values at three scales, a sweep through the region where gelu bends, and extremes.
at::Tensor inputs(int64_t n_random) {
  const auto f = at::TensorOptions().dtype(at::kFloat);
  std::vector<float> special{0.0f, 1e-30f, -1e-30f, 1e-5f, -1e-5f, 30.0f, -30.0f, 1e4f, -1e4f, 1e20f, -1e20f,
                             std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::max()};
  return at::cat({at::randn({n_random}, f) * 3, at::randn({n_random / 4}, f) * 0.1, at::linspace(-12, 12, 4801, f),
                  at::from_blob(special.data(), {(int64_t)special.size()}, f).clone()});
}

// Float32 error bounds, elementwise, from the conditioning of the formula: exp(-2u) carries the rounding of its
// argument (relative error about |2u| units of 2^-24), and the gradient is a sum of terms of either sign (its error
// scales with the terms' magnitudes, not with the sum, which crosses zero near x = -0.75). The bound is (8 + |2u|) x
// 2.4e-7 relative, about twice the first-order rounding count of the formula (the worst element measures about half
// of it on every build), plus 1e-30 absolute for the far negative tail, where the value is set to 0.
at::Tensor forward_bound(const at::Tensor& x32) {
  const at::Tensor x = x32.to(at::kDouble);
  const at::Tensor z = (2 * kSqrt2OverPi * (x + 0.044715 * x * x * x)).abs();
  return 1e-30 + (8 + z) * 2.4e-7 * gelu64(x32).abs();
}

at::Tensor backward_bound(const at::Tensor& dy32, const at::Tensor& x32) {
  const at::Tensor x = x32.to(at::kDouble), dy = dy32.to(at::kDouble);
  const at::Tensor z = 2 * kSqrt2OverPi * (x + 0.044715 * x * x * x);
  const at::Tensor s = 1 / (1 + at::exp(-z));
  const at::Tensor terms = s + (x * s * (1 - s) * 2 * kSqrt2OverPi * (1 + 3 * 0.044715 * x * x)).abs();
  return 1e-30 + (8 + z.abs()) * 2.4e-7 * terms * dy.abs();
}

// |got - ref| <= bound elementwise (float64), every element finite; prints the first misses and the worst ratio.
bool within(const std::string& what, const at::Tensor& got_in, const at::Tensor& ref, const at::Tensor& bound) {
  const at::Tensor got = got_in.detach().to(at::kDouble).reshape({-1});
  const at::Tensor err = (got - ref.reshape({-1})).abs(), b = bound.reshape({-1});
  const at::Tensor bad = (err > b).logical_or(got.isfinite().logical_not());
  const double worst = (err / b).max().item<double>();
  const int64_t n_bad = bad.sum().item<int64_t>();
  if (n_bad > 0) {
    const at::Tensor idx = bad.nonzero().reshape({-1});
    for (int64_t k = 0; k < std::min<int64_t>(5, idx.numel()); ++k) {
      const int64_t i = idx[k].item<int64_t>();
      std::printf("  %s[%lld]: got %.10g, expected %.10g, bound %.3g\n", what.c_str(), (long long)i,
                  got[i].item<double>(), ref.reshape({-1})[i].item<double>(), b[i].item<double>());
    }
  }
  std::printf("  %s: worst |error| / bound %.3f (%lld of %lld elements over)\n", what.c_str(), worst, (long long)n_bad,
              (long long)got.numel());
  return n_bad == 0;
}

// The forward and backward kernels on x[0, n) against float64 within the bounds above.
bool kernel_agrees(const at::Tensor& x, const std::string& what) {
  const int64_t n = x.numel();
  at::Tensor y = at::empty_like(x), dy = at::randn_like(x), dx = at::empty_like(x);
  incontext::gelu::forward(x.data_ptr<float>(), y.data_ptr<float>(), 0, n);
  incontext::gelu::backward(dy.data_ptr<float>(), x.data_ptr<float>(), dx.data_ptr<float>(), 0, n);
  bool ok = within(what + " forward", y, gelu64(x), forward_bound(x));
  return within(what + " backward", dx, gelu_grad64(dy, x), backward_bound(dy, x)) && ok;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t seed = incontext::testing::seed_from_env();
  std::printf("test_gelu: seed %llu (set INCONTEXT_SEED to repeat)\n", (unsigned long long)seed);
  at::manual_seed(seed);
  Suite suite(argc, argv);
  if (const int rc = incontext::testing::check_isa_build(suite, "GELU kernel", incontext::gelu::isa_name(),
                                                          /*need_bw=*/false))
    return rc;

  suite.run("the float64 reference is libtorch's gelu(x, \"tanh\") where that is well conditioned (x > -3)", [] {
    const at::Tensor x = at::linspace(-3, 12, 3001, at::TensorOptions().dtype(at::kDouble));
    return allclose("sigmoid form vs tanh form", gelu64(x), at::gelu(x, "tanh"), 1e-15, 1e-13);
  });
  suite.run("kernel = float64 on random, swept and extreme inputs", [] { return kernel_agrees(inputs(100000), "x"); });
  suite.run("every tail length 1..40, and a range that starts inside the array", [] {
    bool ok = true;
    for (int64_t n = 1; n <= 40; ++n) ok = kernel_agrees(at::randn({n}) * 4, "n = " + std::to_string(n)) && ok;
    const at::Tensor x = at::randn({37}) * 4;
    at::Tensor y = at::zeros_like(x);
    incontext::gelu::forward(x.data_ptr<float>(), y.data_ptr<float>(), 5, 30);
    ok = within("[5, 30)", y.narrow(0, 5, 25), gelu64(x.narrow(0, 5, 25)), forward_bound(x.narrow(0, 5, 25))) && ok;
    return allclose("outside [5, 30) untouched", at::cat({y.narrow(0, 0, 5), y.narrow(0, 30, 7)}), at::zeros({12}), 0,
                    0) && ok;
  });
  suite.run("NaN stays NaN; +inf gives +inf and -inf 0, with derivatives 1 and 0", [] {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    float x[3] = {nan, inf, -inf}, y[3] = {0, 0, 1}, dy[3] = {1, 1, 1}, dx[3] = {0, 0, 1};
    incontext::gelu::forward(x, y, 0, 3);
    incontext::gelu::backward(dy, x, dx, 0, 3);
    return std::isnan(y[0]) && y[1] == inf && y[2] == 0 && std::isnan(dx[0]) && dx[1] == 1 && dx[2] == 0;
  });
  suite.run("op: forward and gradient = libtorch's float32 gelu within float32 rounding, on a strided input", [] {
    const at::Tensor base = (at::randn({64, 82, 256}) * 2).transpose(1, 2);  // not contiguous
    const at::Tensor a = base.detach().clone().set_requires_grad(true);
    const at::Tensor b = base.detach().clone().set_requires_grad(true);
    const at::Tensor dy = at::randn({64, 256, 82});
    const at::Tensor ya = incontext::gelu_tanh(a), yb = at::gelu(b, "tanh");
    torch::autograd::backward({ya}, {dy});
    torch::autograd::backward({yb}, {dy});
    bool ok = within("value vs float64", ya, gelu64(base), forward_bound(base));
    ok = within("gradient vs float64", a.grad(), gelu_grad64(dy, base), backward_bound(dy, base)) && ok;
    // libtorch's float32 gelu on the same inputs: no closer to float64 than these bounds allow ours to be, at scale.
    const double ours = incontext::testing::rel_err(ya, gelu64(base)), theirs = incontext::testing::rel_err(yb, gelu64(base));
    const double ours_g = incontext::testing::rel_err(a.grad(), gelu_grad64(dy, base));
    const double theirs_g = incontext::testing::rel_err(b.grad(), gelu_grad64(dy, base));
    std::printf("  max error / max |value|: ours %.2e, libtorch %.2e; gradient: ours %.2e, libtorch %.2e\n", ours,
                theirs, ours_g, theirs_g);
    return ours <= 2 * theirs + 1e-7 && ours_g <= 2 * theirs_g + 1e-7 && ok;
  });
  suite.run("op: float64 runs libtorch's gelu exactly; second derivative through libtorch's formula", [] {
    const at::Tensor x = at::randn({1000}, at::TensorOptions().dtype(at::kDouble)).set_requires_grad(true);
    bool ok = allclose("float64", incontext::gelu_tanh(x), at::gelu(x, "tanh"), 0, 0);
    const at::Tensor x32 = (at::randn({500}) * 2).set_requires_grad(true);
    const at::Tensor g = torch::autograd::grad({incontext::gelu_tanh(x32).sum()}, {x32}, {}, true, true)[0];
    const at::Tensor gg = torch::autograd::grad({g.sum()}, {x32})[0];
    const at::Tensor r32 = x32.detach().clone().set_requires_grad(true);
    const at::Tensor rg = torch::autograd::grad({at::gelu(r32, "tanh").sum()}, {r32}, {}, true, true)[0];
    const at::Tensor rgg = torch::autograd::grad({rg.sum()}, {r32})[0];
    return allclose("second derivative", gg, rgg, 1e-6, 1e-5) && ok;
  });
  suite.run("bfloat16 kernel = the float32 kernel on the widened values rounded to nearest even, bit for bit", [] {
    const at::Tensor xb = inputs(20000).to(at::kBFloat16), dyb = at::randn({xb.numel()}).to(at::kBFloat16);
    const at::Tensor xf = xb.to(at::kFloat), dyf = dyb.to(at::kFloat);
    at::Tensor yf = at::empty_like(xf), dxf = at::empty_like(xf), yb = at::empty_like(xb), dxb = at::empty_like(xb);
    const int64_t n = xb.numel();
    auto bits = [](const at::Tensor& t) { return static_cast<uint16_t*>(t.data_ptr()); };
    incontext::gelu::forward(xf.data_ptr<float>(), yf.data_ptr<float>(), 0, n);
    incontext::gelu::backward(dyf.data_ptr<float>(), xf.data_ptr<float>(), dxf.data_ptr<float>(), 0, n);
    incontext::gelu::forward(bits(xb), bits(yb), 0, n);
    incontext::gelu::backward(bits(dyb), bits(xb), bits(dxb), 0, n);
    const bool fwd = at::equal(yb.view(at::kShort), yf.to(at::kBFloat16).view(at::kShort));
    const bool bwd = at::equal(dxb.view(at::kShort), dxf.to(at::kBFloat16).view(at::kShort));
    if (!fwd || !bwd) std::printf("  forward bit-identical: %d, backward: %d\n", fwd, bwd);
    const uint16_t nan_bits = 0x7FC1;  // a NaN with payload: stays a NaN
    uint16_t y_nan = 0;
    incontext::gelu::forward(&nan_bits, &y_nan, 0, 1);
    const bool nan_ok = (y_nan & 0x7F80) == 0x7F80 && (y_nan & 0x7F) != 0;
    return fwd && bwd && nan_ok;
  });
  suite.run("op, bfloat16: value and gradient error vs float64 at most twice libtorch's bfloat16 gelu's", [] {
    const at::Tensor base = (at::randn({64, 82, 128}) * 2).to(at::kBFloat16);
    const at::Tensor dy = at::randn({64, 82, 128}).to(at::kBFloat16);
    const at::Tensor a = base.detach().clone().set_requires_grad(true);
    const at::Tensor b = base.detach().clone().set_requires_grad(true);
    const at::Tensor ya = incontext::gelu_tanh(a), yb = at::gelu(b, "tanh");
    torch::autograd::backward({ya}, {dy});
    torch::autograd::backward({yb}, {dy});
    const at::Tensor ref = gelu64(base.to(at::kFloat)), gref = gelu_grad64(dy.to(at::kFloat), base.to(at::kFloat));
    const double ours = incontext::testing::rel_err(ya, ref), theirs = incontext::testing::rel_err(yb, ref);
    const double ours_g = incontext::testing::rel_err(a.grad(), gref), theirs_g = incontext::testing::rel_err(b.grad(), gref);
    std::printf("  max error / max |value|: ours %.2e, libtorch %.2e; gradient: ours %.2e, libtorch %.2e\n", ours,
                theirs, ours_g, theirs_g);
    const bool dtypes = ya.scalar_type() == at::kBFloat16 && a.grad().scalar_type() == at::kBFloat16;
    return dtypes && ours <= 2 * theirs && ours_g <= 2 * theirs_g;
  });
  suite.run("bad arguments are named", [] {
    bool ok = raises_containing("argument 'x' must be a floating-point tensor; got Long",
                                [] { incontext::gelu_tanh(at::ones({3}, at::kLong)); });
    return raises_containing("argument 'x' is an undefined tensor", [] { incontext::gelu_tanh(at::Tensor()); }) && ok;
  });
  return suite.finish();
}
