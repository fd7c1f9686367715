// Argument checks shared by the op bindings. Every message starts with "incontext.<op>: " and names the
// argument, what was expected and what was given. Two kinds of failure, which Java maps to two exception types:
// fail() is the caller's mistake (a bad argument: c10::ValueError -> IllegalArgumentException); fail_runtime() is
// the op failing on valid arguments (a CUDA kernel error, a numerical overflow: c10::Error -> NativeOpException).
#pragma once

#include <initializer_list>
#include <string>

#include <ATen/core/Tensor.h>

namespace incontext::detail {

std::string shape_str(at::IntArrayRef sizes);

// Fails unless `t` is a defined tensor of rank `dim`; `layout` names the axes, e.g. "(B, H, T, D)".
void check_rank(const at::Tensor& t, const char* op, const char* arg, int64_t dim, const char* layout);

// Fails unless the dtype of `t` is one of `allowed` (the message lists them and names the device).
void check_dtype(const at::Tensor& t, const char* op, const char* arg, std::initializer_list<at::ScalarType> allowed);

// Fails unless `t` has the dtype and device of `ref`.
void check_like(const at::Tensor& t, const char* op, const char* arg, const at::Tensor& ref, const char* ref_arg);

// Fails if `t` holds a NaN or an infinity, naming the first such element.
void check_finite(const at::Tensor& t, const char* op, const char* arg);

// A bad argument (c10::ValueError).
[[noreturn]] void fail(const char* op, const std::string& message);

// The op failed on arguments that passed its checks (c10::Error, not a ValueError).
[[noreturn]] void fail_runtime(const char* op, const std::string& message);

}  // namespace incontext::detail
