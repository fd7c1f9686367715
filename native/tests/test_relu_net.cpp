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

// The nets' losses (C, nets) and their gradients (C, nets, S) in float64 by autograd.
std::pair<at::Tensor, at::Tensor> reference_grad(const Problem& p, const at::Tensor& params64) {
  const int64_t d = p.d, H = p.H;
  at::Tensor P = params64.detach().clone().set_requires_grad(true);
  const at::Tensor W1 = P.narrow(2, 0, d * H).reshape({p.C, p.nets, d, H});
  const at::Tensor b1 = P.narrow(2, d * H, H);
  const at::Tensor w2 = P.narrow(2, d * H + H, H);
  const at::Tensor b2 = P.select(2, d * H + 2 * H);
  const at::Tensor x = p.x.to(at::kDouble), y = p.y.to(at::kDouble), m = p.mask.to(at::kDouble);
  const at::Tensor pre = at::einsum("crk,cukh->curh", {x, W1}) + b1.unsqueeze(2);
  const at::Tensor out = (pre.relu() * w2.unsqueeze(2)).sum(-1) + b2.unsqueeze(2);  // (C, nets, r)
  const at::Tensor cnt = m.sum(-1);
  const at::Tensor loss = at::where(cnt > 0, (m * (out - y.unsqueeze(1)).square()).sum(-1) / cnt.clamp_min(1),
                                    at::zeros_like(cnt));
  loss.sum().backward();
  return {loss.detach(), P.grad().detach()};
}

// `steps` Adam steps in float64 from the op's float32 starting point; returns (params, losses of the last step).
std::pair<at::Tensor, at::Tensor> reference_adam(const Problem& p, int steps, double lr, double b1, double b2,
                                                 double eps) {
  at::Tensor P = p.params.to(at::kDouble), m = at::zeros_like(P), v = at::zeros_like(P), loss;
  for (int t = 1; t <= steps; ++t) {
    auto [l, g] = reference_grad(p, P);
    loss = l;
    m = m * b1 + (1 - b1) * g;
    v = v * b2 + (1 - b2) * g * g;
    const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
    P = P - (lr / bc1) * m / (v.sqrt() / std::sqrt(bc2) + eps);
  }
  return {P, loss};
}

bool agrees(const Problem& p, int steps, double eps) {
  const double lr = 0.05, b1 = 0.9, b2 = 0.999;
  at::Tensor params = p.params.clone(), m = at::zeros_like(params), v = at::zeros_like(params), loss;
  for (int t = 1; t <= steps; ++t)
    loss = incontext::relu_net_adam_step(p.x, p.y, p.mask, params, m, v, p.H, t, lr, b1, b2, eps);
  auto [ref_params, ref_loss] = reference_adam(p, steps, lr, b1, b2, eps);
  bool ok = allclose("loss at the last step", loss, ref_loss, 1e-5, 1e-4);
  ok = allclose("params after " + std::to_string(steps) + " steps", params, ref_params, 1e-5, 1e-4) && ok;
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
