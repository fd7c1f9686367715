// Dynamic loss scaling for float16 training (training.precision: fp16): the fused unscale-and-check libtorch's
// GradScaler uses, which the JavaCPP presets do not expose. dev.incontext.train.LossScaler keeps the scale and its
// update rule in Java; this file only does the pass over the gradients.
#include <ATen/ATen.h>

#include "checks.h"
#include "incontext/generator.h"

namespace incontext {

void unscale_gradients(std::vector<at::Tensor>& grads, at::Tensor& found_inf, const at::Tensor& inv_scale) {
  constexpr const char* kOp = "unscale_gradients";
  using detail::fail;
  if (!found_inf.defined() || found_inf.numel() != 1 || found_inf.scalar_type() != at::kFloat)
    fail(kOp, "argument 'found_inf' must be a one-element float32 tensor");
  if (!inv_scale.defined() || inv_scale.numel() != 1 || inv_scale.scalar_type() != at::kFloat)
    fail(kOp, "argument 'inv_scale' must be a one-element float32 tensor");
  if (inv_scale.device() != found_inf.device())
    fail(kOp, "'inv_scale' is on " + inv_scale.device().str() + " but 'found_inf' on " + found_inf.device().str());
  for (size_t i = 0; i < grads.size(); ++i) {
    const at::Tensor& g = grads[i];
    if (!g.defined()) fail(kOp, "gradient " + std::to_string(i) + " is undefined");
    if (g.device() != found_inf.device())
      fail(kOp, "gradient " + std::to_string(i) + " is on " + g.device().str() + " but 'found_inf' on " +
                    found_inf.device().str());
    if (g.scalar_type() != at::kFloat && g.scalar_type() != at::kHalf && g.scalar_type() != at::kBFloat16)
      fail(kOp, "gradient " + std::to_string(i) + " has dtype " + std::string(c10::toString(g.scalar_type())) +
                    "; float32, float16 or bfloat16 expected");
  }
  if (grads.empty()) return;
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale);
}

}  // namespace incontext
