// The functions the JavaCPP binding (dev.incontext.ops.NativeOps) calls. They turn c10::Error into a
// std::runtime_error carrying only the message (no C++ backtrace), which JavaCPP rethrows as a Java
// RuntimeException; dev.incontext.ops.Ops maps our argument errors to IllegalArgumentException.
#pragma once

#include <stdexcept>
#include <string>

#include <c10/util/Exception.h>

#include "incontext/ops.h"

namespace incontext::java {

template <class F>
at::Tensor guarded(F&& f) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw std::runtime_error(e.what_without_backtrace());
  }
}

inline std::optional<double> opt_scale(bool has_scale, double scale) {
  return has_scale ? std::optional<double>(scale) : std::nullopt;
}

inline at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal,
                            bool has_scale, double scale) {
  return guarded([&] { return incontext::attention(q, k, v, causal, opt_scale(has_scale, scale)); });
}

inline at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal,
                                      bool has_scale, double scale) {
  return guarded([&] { return incontext::attention_reference(q, k, v, causal, opt_scale(has_scale, scale)); });
}

inline at::Tensor prefix_lstsq(const at::Tensor& x, const at::Tensor& y, double lambda) {
  return guarded([&] { return incontext::prefix_lstsq(x, y, lambda); });
}

inline at::Tensor prefix_lstsq_reference(const at::Tensor& x, const at::Tensor& y, double lambda) {
  return guarded([&] { return incontext::prefix_lstsq_reference(x, y, lambda); });
}

}  // namespace incontext::java
