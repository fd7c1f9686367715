// Tests of the ReLU-net kernel (relu_net/relu_net.h) and its ops against a float64 reference composed of ATen ops
// with autograd and Adam written out. CPU only; ctest runs the binary once per instruction-set build.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include "cpu_isa.h"
#include "incontext/ops.h"
#include "relu_net/relu_net.h"
#include "testing.h"

using incontext::testing::allclose;
using incontext::testing::raises_containing;
using incontext::testing::Suite;

namespace {

struct Problem {
  int64_t C, r, d, H, nets;
  at::Tensor x, y, mask, params;  // float32, the op's layout
};

// Rows, targets, a mask (net u sees rows j <= u, or a random subset of them with some nets empty) and parameters
// drawn like PyTorch's nn.Linear initialisation.
Problem make(int64_t C, int64_t r, int64_t d, int64_t H, int64_t nets, bool random_mask) {
  Problem p{C, r, d, H, nets, {}, {}, {}, {}};
  const auto f = at::TensorOptions().dtype(at::kFloat);
  p.x = at::randn({C, r, d}, f);
  p.y = at::randn({C, r}, f);
  at::Tensor tri = at::ones({nets, r}, f).tril();
  p.mask = random_mask ? (tri * (at::rand({C, nets, r}, f) < 0.5).to(at::kFloat)) : tri.expand({C, nets, r});
  p.mask = p.mask.contiguous();
  const int64_t S = incontext::relunet::block_size(d, H);
  p.params = at::empty({C, nets, S}, f);
  p.params.narrow(2, 0, d * H + H).uniform_(-1 / std::sqrt(double(d)), 1 / std::sqrt(double(d)));
  p.params.narrow(2, d * H + H, H + 1).uniform_(-1 / std::sqrt(double(H)), 1 / std::sqrt(double(H)));
  return p;
}

// The first layer's pre-activations (C, nets, r, H) of every net at every row, x W1 + b1, in float64; with
// `magnitude` the same sum over absolute values, sum_k |x_k W_kh| + |b_h| (the scale of its rounding error).
at::Tensor pre_activations(const Problem& p, const at::Tensor& params64, bool magnitude = false) {
  const int64_t d = p.d, H = p.H;
  at::Tensor W1 = params64.narrow(2, 0, d * H).reshape({p.C, p.nets, d, H});
  at::Tensor b1 = params64.narrow(2, d * H, H).unsqueeze(2);
  at::Tensor x = p.x.to(at::kDouble);
  if (magnitude) {
    W1 = W1.abs();
    b1 = b1.abs();
    x = x.abs();
  }
  return at::einsum("crk,cukh->curh", {x, W1}) + b1;
}

// The nets' losses (C, nets) and their gradients (C, nets, S) in float64 by autograd.
std::pair<at::Tensor, at::Tensor> reference_grad(const Problem& p, const at::Tensor& params64) {
  const int64_t d = p.d, H = p.H;
  at::Tensor P = params64.detach().clone().set_requires_grad(true);
  const at::Tensor w2 = P.narrow(2, d * H + H, H);
  const at::Tensor b2 = P.select(2, d * H + 2 * H);
  const at::Tensor y = p.y.to(at::kDouble), m = p.mask.to(at::kDouble);
  const at::Tensor pre = pre_activations(p, P);
  const at::Tensor out = (pre.relu() * w2.unsqueeze(2)).sum(-1) + b2.unsqueeze(2);  // (C, nets, r)
  const at::Tensor cnt = m.sum(-1);
  const at::Tensor loss = at::where(cnt > 0, (m * (out - y.unsqueeze(1)).square()).sum(-1) / cnt.clamp_min(1),
                                    at::zeros_like(cnt));
  loss.sum().backward();
  return {loss.detach(), P.grad().detach()};
}

// One Adam step in float64 from a given state (params, exp_avg, exp_avg_sq as float64); returns the new state and
// the step's losses.
struct State {
  at::Tensor params, m, v, loss;
};
State reference_adam_step(const Problem& p, const State& s, int t, double lr, double b1, double b2, double eps) {
  auto [l, g] = reference_grad(p, s.params);
  const at::Tensor m = s.m * b1 + (1 - b1) * g;
  const at::Tensor v = s.v * b2 + (1 - b2) * g * g;
  const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
  return {s.params - (lr / bc1) * m / (v.sqrt() / std::sqrt(bc2) + eps), m, v, l};
}

// Hidden units (C, nets, H) with a gate that float32 arithmetic may decide differently from float64: some row the
// net sees has |pre-activation| within the rounding bound of a float32 dot product of length d + 1 in any order,
// (d + 2) 2^-24 (sum_k |x_k W_kh| + |b_h|) (Higham's gamma_n with room for FMA). Only these units' W1 column and b1
// entry have a gradient that jumps with the gate; the output relu(pre) w2 is continuous, so the loss, w2, b2 and
// every other unit differ from float64 by rounding alone.
at::Tensor ambiguous_units(const Problem& p, const at::Tensor& params64) {
  const at::Tensor close = pre_activations(p, params64).abs() <=
                           pre_activations(p, params64, true) * (double(p.d + 2) * std::ldexp(1.0, -24));
  const at::Tensor seen = (p.mask > 0).unsqueeze(-1);  // (C, nets, r, 1)
  return (close & seen).any(2);  // (C, nets, H)
}

// `t` with the ambiguous units' W1 column and b1 entry replaced by `ref`'s: those entries are not compared.
at::Tensor excluding(const Problem& p, const at::Tensor& t, const at::Tensor& ref, const at::Tensor& units) {
  const int64_t d = p.d, H = p.H;
  at::Tensor skip = at::zeros({p.C, p.nets, p.params.size(2)}, at::kBool);
  skip.narrow(2, 0, d * H).view({p.C, p.nets, d, H}).copy_(units.unsqueeze(2).expand({p.C, p.nets, d, H}));
  skip.narrow(2, d * H, H).copy_(units);
  return at::where(skip, ref, t.to(at::kDouble));
}

// `steps` Adam steps of the op, each checked against one float64 step from the op's own state before it (so rounding
// does not compound and a tight bound holds at every step, moments and both bias corrections included); entries
// whose gradient depends on a gate float32 may decide either way are left out (counted; at most 1% of the units).
bool agrees(const Problem& p, int steps, double eps) {
  const double lr = 0.05, b1 = 0.9, b2 = 0.999;
  at::Tensor params = p.params.clone(), m = at::zeros_like(params), v = at::zeros_like(params);
  bool ok = true;
  int64_t left_out = 0;
  for (int t = 1; t <= steps && ok; ++t) {
    const State before{params.to(at::kDouble), m.to(at::kDouble), v.to(at::kDouble), {}};
    const at::Tensor units = ambiguous_units(p, before.params);
    left_out += units.sum().item<int64_t>();
    const at::Tensor loss = incontext::relu_net_adam_step(p.x, p.y, p.mask, params, m, v, p.H, t, lr, b1, b2, eps);
    const State ref = reference_adam_step(p, before, t, lr, b1, b2, eps);
    const std::string at_step = " at step " + std::to_string(t);
    ok = allclose("loss" + at_step, loss, ref.loss, 1e-6, 1e-5) && ok;
    ok = allclose("params" + at_step, excluding(p, params, ref.params, units), ref.params, 1e-6, 1e-5) && ok;
    // A gradient entry sums up to r (d + H)-term products in float32: |error| up to ~1e-5 where the terms are O(1)
    // and cancel; exp_avg takes (1 - b1) of it, exp_avg_sq (1 - b2) 2 |g| of it.
    ok = allclose("exp_avg" + at_step, excluding(p, m, ref.m, units), ref.m, 1e-6, 1e-5) && ok;
    ok = allclose("exp_avg_sq" + at_step, excluding(p, v, ref.v, units), ref.v, 1e-8, 1e-5) && ok;
  }
  const int64_t units_checked = p.C * p.nets * p.H * steps;
  if (left_out) std::printf("  %lld of %lld unit-steps left out (gate within float32 rounding of 0)\n",
                            (long long)left_out, (long long)units_checked);
  if (left_out * 100 > units_checked) {
    std::printf("  too many unit-steps left out: %lld of %lld\n", (long long)left_out, (long long)units_checked);
    return false;
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t seed = incontext::testing::seed_from_env();
  std::printf("test_relu_net: seed %llu (set INCONTEXT_SEED to repeat)\n", (unsigned long long)seed);
  at::manual_seed(seed);
  Suite suite(argc, argv);
  if (const int rc = incontext::testing::check_isa_build(suite, "ReLU-net kernel", incontext::relunet::isa_name(),
                                                          /*need_bw=*/false))
    return rc;

  // eps = 1 makes Adam's update smooth in the gradient, so float32 and float64 stay comparable over many steps (with
  // eps = 1e-8 a gradient near 0 turns into a full +-lr step whose sign rounding decides); it still exercises the
  // moments and both bias corrections. The Java tests compare the default eps against libtorch's own Adam.
  suite.run("one Adam step = float64 autograd + Adam (prefix masks, H = 37 padded)", [] {
    return agrees(make(3, 13, 5, 37, 13, false), 1, 1.0);
  });
  suite.run("ten Adam steps, random minibatch masks with empty nets, nets != rows", [] {
    return agrees(make(2, 11, 4, 20, 7, true), 10, 1.0);
  });
  suite.run("ten Adam steps at d = 20, H = 100 (the baseline's size), rows in blocks of 4 plus a tail", [] {
    return agrees(make(2, 23, 20, 100, 23, false), 10, 1.0);
  });
  suite.run("relu_net_loss = the reference's loss and leaves params alone; an empty mask has loss 0", [] {
    Problem p = make(2, 9, 3, 16, 9, true);
    p.mask.select(1, 4).zero_();
    const at::Tensor before = p.params.clone();
    const at::Tensor loss = incontext::relu_net_loss(p.x, p.y, p.mask, p.params, p.H);
    bool ok = allclose("loss", loss, reference_grad(p, p.params.to(at::kDouble)).first, 1e-6, 1e-5);
    ok = allclose("params untouched", p.params, before, 0, 0) && ok;
    return allclose("empty mask", loss.select(1, 4), at::zeros({2}), 0, 0) && ok;
  });
  suite.run("bad arguments are named", [] {
    Problem p = make(2, 9, 3, 16, 9, false);
    const at::Tensor m = at::zeros_like(p.params), v = at::zeros_like(p.params);
    bool ok = raises_containing("argument 'params' must have shape (C, nets, S)", [&] {
      incontext::relu_net_loss(p.x, p.y, p.mask, p.params, p.H + 1);
    });
    ok = raises_containing("argument 'y' must have shape (C, r)", [&] {
      incontext::relu_net_loss(p.x, p.y.narrow(1, 0, 4).contiguous(), p.mask, p.params, p.H);
    }) && ok;
    ok = raises_containing("argument 'x' must have dtype Float", [&] {
      incontext::relu_net_loss(p.x.to(at::kDouble), p.y, p.mask, p.params, p.H);
    }) && ok;
    ok = raises_containing("negative weight", [&] {
      incontext::relu_net_loss(p.x, p.y, p.mask - 2, p.params, p.H);
    }) && ok;
    at::Tensor bad = p.x.clone();
    bad.index_put_({0, 1, 2}, std::nan(""));
    ok = raises_containing("'x'", [&] { incontext::relu_net_loss(bad, p.y, p.mask, p.params, p.H); }) && ok;
    ok = raises_containing("argument 'step'", [&] {
      incontext::relu_net_adam_step(p.x, p.y, p.mask, p.params, m, v, p.H, 0, 0.01);
    }) && ok;
    ok = raises_containing("argument 'mask' must be contiguous", [&] {
      incontext::relu_net_loss(p.x, p.y, p.mask.transpose(1, 2).contiguous().transpose(1, 2), p.params, p.H);
    }) && ok;
    return raises_containing("'exp_avg' and 'exp_avg_sq'", [&] {
      incontext::relu_net_adam_step(p.x, p.y, p.mask, p.params, m.narrow(1, 0, 2).contiguous(), v, p.H, 1, 0.01);
    }) && ok;
  });
  return suite.finish();
}
