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
}

TORCH_LIBRARY_IMPL(incontext, CompositeImplicitAutograd, m) {
  m.impl("attention", TORCH_FN(incontext::attention));
  m.impl("attention_reference", TORCH_FN(incontext::attention_reference));
  m.impl("prefix_lstsq", TORCH_FN(incontext::prefix_lstsq));
  m.impl("prefix_lstsq_reference", TORCH_FN(incontext::prefix_lstsq_reference));
}
