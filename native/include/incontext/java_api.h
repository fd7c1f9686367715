// The functions the JavaCPP binding (dev.incontext.ops.NativeOps) calls. They turn c10::Error into a
// std::runtime_error carrying only the message (no C++ backtrace), which JavaCPP rethrows as a plain Java
// RuntimeException. JavaCPP keeps only the message, so the kind of failure travels as a leading tag that
// dev.incontext.ops.Ops strips: kArgumentTag for the caller's mistakes (c10::ValueError, TypeError, IndexError:
// IllegalArgumentException), kFailureTag for an op failing on valid arguments (NativeOpException).
#pragma once

#include <stdexcept>
#include <string>

#include <ATen/Functions.h>
#include <c10/util/Exception.h>

#include "incontext/generator.h"
#include "incontext/ops.h"

namespace incontext::java {

inline constexpr const char* kArgumentTag = "[invalid-argument] ";
inline constexpr const char* kFailureTag = "[op-failure] ";

template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::ValueError& e) {
    throw std::runtime_error(std::string(kArgumentTag) + e.what_without_backtrace());
  } catch (const c10::TypeError& e) {
    throw std::runtime_error(std::string(kArgumentTag) + e.what_without_backtrace());
  } catch (const c10::IndexError& e) {
    throw std::runtime_error(std::string(kArgumentTag) + e.what_without_backtrace());
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(kFailureTag) + e.what_without_backtrace());
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

// Optional tensors arrive from Java as undefined tensors (new Tensor()).
inline std::optional<at::Tensor> opt_tensor(const at::Tensor& t) {
  return t.defined() ? std::optional<at::Tensor>(t) : std::nullopt;
}

// lambda_per_prompt (a 0-D or (B) tensor) wins when defined; otherwise the scalar lambda.
inline at::Tensor lambda_tensor(double lambda, const at::Tensor& lambda_per_prompt) {
  return lambda_per_prompt.defined() ? lambda_per_prompt
                                     : at::scalar_tensor(lambda, at::TensorOptions().dtype(at::kDouble));
}

inline at::Tensor prefix_lstsq_general(const at::Tensor& x, const at::Tensor& y, double lambda,
                                       const at::Tensor& lambda_per_prompt, const at::Tensor& queries) {
  return guarded([&] { return incontext::prefix_lstsq(x, y, lambda_tensor(lambda, lambda_per_prompt), opt_tensor(queries)); });
}

inline at::Tensor prefix_lstsq_reference_general(const at::Tensor& x, const at::Tensor& y, double lambda,
                                                 const at::Tensor& lambda_per_prompt, const at::Tensor& queries) {
  return guarded([&] {
    return incontext::prefix_lstsq_reference(x, y, lambda_tensor(lambda, lambda_per_prompt), opt_tensor(queries));
  });
}

// Returns the predictions and stores the weight vectors in weights_out (a Java-allocated tensor).
inline at::Tensor prefix_lstsq_with_weights(const at::Tensor& x, const at::Tensor& y, double lambda,
                                            const at::Tensor& lambda_per_prompt, const at::Tensor& queries,
                                            at::Tensor& weights_out) {
  return guarded([&] {
    auto [pred, w] =
        incontext::prefix_lstsq_with_weights(x, y, lambda_tensor(lambda, lambda_per_prompt), opt_tensor(queries));
    weights_out = w;
    return pred;
  });
}

inline at::Tensor prefix_averaging(const at::Tensor& x, const at::Tensor& y, const at::Tensor& queries) {
  return guarded([&] { return incontext::prefix_averaging(x, y, opt_tensor(queries)); });
}

inline at::Tensor prefix_knn(const at::Tensor& x, const at::Tensor& y, int64_t k, bool distance_weighted,
                             const at::Tensor& queries) {
  return guarded([&] { return incontext::prefix_knn(x, y, k, distance_weighted, opt_tensor(queries)); });
}

inline at::Generator make_generator(const std::string& device, int64_t seed) {
  return guarded([&] { return incontext::make_generator(device, static_cast<uint64_t>(seed)); });
}

inline bool set_blas_threads(int threads) { return incontext::set_blas_threads(threads); }

inline std::string attention_cpu_isa() { return incontext::attention_cpu_isa(); }

}  // namespace incontext::java
