// The functions the JavaCPP binding (dev.incontext.ops.NativeOps) calls. They turn c10::Error into a
// std::runtime_error carrying only the message (no C++ backtrace), which JavaCPP rethrows as a plain Java
// RuntimeException. JavaCPP keeps only the message, so the kind of failure travels as a leading tag that
// dev.incontext.ops.Ops strips: kArgumentTag for the caller's mistakes (c10::ValueError, TypeError, IndexError:
// IllegalArgumentException), kFailureTag for an op failing on valid arguments (NativeOpException).
#pragma once

#include <stdexcept>
#include <string>

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/ivalue.h>
#include <c10/util/Exception.h>
#include <torch/types.h>

#include "incontext/generator.h"

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

// Every tensor op reaches Java through the dispatcher: Java pushes the arguments as IValues in the order of the
// op's schema (registration.cpp) and reads the results back from the same stack. So an op is declared once in C++
// (ops.h + its TORCH_LIBRARY schema) and bound once in Java (one method in dev.incontext.ops.Ops); nothing per op
// lives here or in NativeOps. Errors keep their kind through guarded().
inline void call_op(const std::string& name, const std::string& overload, std::vector<c10::IValue>& stack) {
  guarded([&] {
    const c10::OperatorHandle op =
        c10::Dispatcher::singleton().findSchemaOrThrow(("incontext::" + name).c_str(), overload.c_str());
    op.callBoxed(&stack);
    return 0;
  });
}

inline at::Generator make_generator(const std::string& device, int64_t seed) {
  return guarded([&] { return incontext::make_generator(device, static_cast<uint64_t>(seed)); });
}

inline void unscale_gradients(std::vector<torch::Tensor>& grads, at::Tensor& found_inf, const at::Tensor& inv_scale) {
  guarded([&] {
    incontext::unscale_gradients(grads, found_inf, inv_scale);
    return 0;
  });
}

inline bool set_blas_threads(int threads) { return incontext::set_blas_threads(threads); }

inline std::string attention_cpu_isa() { return incontext::attention_cpu_isa(); }

inline int64_t op_threads() { return incontext::op_threads(); }

inline std::string blas_library() { return incontext::blas_library(); }

inline std::string configure_blas() { return incontext::configure_blas(); }

inline bool retain_freed_memory() { return incontext::retain_freed_memory(); }

inline int64_t minor_page_faults() { return incontext::minor_page_faults(); }

}  // namespace incontext::java
