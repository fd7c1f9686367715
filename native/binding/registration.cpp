// Dispatcher registration: makes the ops reachable as incontext::<name> from the C++ dispatcher, from Java
// through Dispatcher.findSchemaOrThrow, and from Python through torch.ops.load_library + torch.ops.incontext.
// The ops carry their own autograd (torch::autograd::Function), so one CompositeImplicitAutograd kernel
// serves every backend and the autograd key.
#include <torch/library.h>

#include "incontext/ops.h"

TORCH_LIBRARY(incontext, m) {
  m.def("attention(Tensor q, Tensor k, Tensor v, bool causal=False, float? scale=None) -> Tensor");
  m.def("attention_reference(Tensor q, Tensor k, Tensor v, bool causal=False, float? scale=None) -> Tensor");
  m.def("prefix_lstsq(Tensor x, Tensor y, float lam=0.0) -> Tensor");
  m.def("prefix_lstsq_reference(Tensor x, Tensor y, float lam=0.0) -> Tensor");
  // All-prefix least squares with a per-prompt (or 0-D) lambda tensor and optional separate queries.
  m.def("prefix_lstsq.per_prompt(Tensor x, Tensor y, Tensor lam, Tensor? queries=None) -> Tensor");
  m.def("prefix_lstsq_reference.per_prompt(Tensor x, Tensor y, Tensor lam, Tensor? queries=None) -> Tensor");
  m.def("prefix_lstsq_with_weights(Tensor x, Tensor y, Tensor lam, Tensor? queries=None) -> (Tensor, Tensor)");
  m.def("prefix_averaging(Tensor x, Tensor y, Tensor? queries=None) -> Tensor");
  m.def("gelu_tanh(Tensor x) -> Tensor");
  m.def("rope(Tensor x, Tensor cos, Tensor sin) -> Tensor");
  m.def("rope_reference(Tensor x, Tensor cos, Tensor sin) -> Tensor");
  m.def("prefix_knn(Tensor x, Tensor y, int k=3, bool distance_weighted=False, Tensor? queries=None) -> Tensor");
  m.def("prefix_boosted_trees(Tensor x, Tensor y, Tensor? queries=None, int rounds=100, int max_depth=6, "
        "float eta=0.3, float lam=1.0, float min_child_weight=1.0, float base_score=0.5) -> Tensor");
  m.def("relu_net_loss(Tensor x, Tensor y, Tensor mask, Tensor params, int hidden) -> Tensor");
  m.def("relu_net_adam_step(Tensor x, Tensor y, Tensor mask, Tensor(a!) params, Tensor(b!) exp_avg, "
        "Tensor(c!) exp_avg_sq, int hidden, int step, float lr, float beta1=0.9, float beta2=0.999, "
        "float eps=1e-08) -> Tensor");
}

TORCH_LIBRARY_IMPL(incontext, CompositeImplicitAutograd, m) {
  m.impl("attention", TORCH_FN(incontext::attention));
  m.impl("attention_reference", TORCH_FN(incontext::attention_reference));
  // prefix_lstsq and prefix_lstsq_reference are overloaded in C++: pick each signature explicitly.
  using ScalarLambda = at::Tensor (*)(const at::Tensor&, const at::Tensor&, double);
  using TensorLambda = at::Tensor (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                      const std::optional<at::Tensor>&);
  m.impl("prefix_lstsq", static_cast<ScalarLambda>(incontext::prefix_lstsq));
  m.impl("prefix_lstsq_reference", static_cast<ScalarLambda>(incontext::prefix_lstsq_reference));
  m.impl("prefix_lstsq.per_prompt", static_cast<TensorLambda>(incontext::prefix_lstsq));
  m.impl("prefix_lstsq_reference.per_prompt", static_cast<TensorLambda>(incontext::prefix_lstsq_reference));
  m.impl("prefix_lstsq_with_weights", TORCH_FN(incontext::prefix_lstsq_with_weights));
  m.impl("prefix_averaging", TORCH_FN(incontext::prefix_averaging));
  m.impl("prefix_knn", TORCH_FN(incontext::prefix_knn));
  m.impl("gelu_tanh", TORCH_FN(incontext::gelu_tanh));
  m.impl("rope", TORCH_FN(incontext::rope));
  m.impl("rope_reference", TORCH_FN(incontext::rope_reference));
}

// The ReLU-net ops compute their own gradients and relu_net_adam_step updates its arguments in place, and boosted trees
// have no gradient: none is differentiable, so they are registered below autograd (CompositeExplicitAutograd) and
// check the device themselves.
TORCH_LIBRARY_IMPL(incontext, CompositeExplicitAutograd, m) {
  m.impl("relu_net_loss", TORCH_FN(incontext::relu_net_loss));
  m.impl("prefix_boosted_trees", TORCH_FN(incontext::prefix_boosted_trees));
  m.impl("relu_net_adam_step", TORCH_FN(incontext::relu_net_adam_step));
}
