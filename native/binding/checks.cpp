#include "checks.h"

#include <sstream>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace incontext::detail {

std::string shape_str(at::IntArrayRef sizes) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < sizes.size(); ++i) s << (i ? ", " : "") << sizes[i];
  s << ']';
  return s.str();
}

void fail(const char* op, const std::string& message) {
  TORCH_CHECK_VALUE(false, "incontext.", op, ": ", message);
}

void fail_runtime(const char* op, const std::string& message) {
  TORCH_CHECK(false, "incontext.", op, ": ", message);
}

void check_rank(const at::Tensor& t, const char* op, const char* arg, int64_t dim, const char* layout) {
  if (!t.defined()) fail(op, std::string("argument '") + arg + "' is an undefined tensor");
  if (t.dim() != dim) {
    std::ostringstream s;
    s << "argument '" << arg << "' must be a " << dim << "-D tensor of shape " << layout << "; got a " << t.dim()
      << "-D tensor of shape " << shape_str(t.sizes());
    fail(op, s.str());
  }
}

void check_dtype(const at::Tensor& t, const char* op, const char* arg, std::initializer_list<at::ScalarType> allowed) {
  for (auto a : allowed)
    if (t.scalar_type() == a) return;
  std::ostringstream s;
  s << "argument '" << arg << "' must have dtype ";
  size_t i = 0;
  for (auto a : allowed) s << (i++ ? (i == allowed.size() ? " or " : ", ") : "") << c10::toString(a);
  s << " on " << t.device() << "; got " << c10::toString(t.scalar_type());
  fail(op, s.str());
}

void check_like(const at::Tensor& t, const char* op, const char* arg, const at::Tensor& ref, const char* ref_arg) {
  if (t.scalar_type() != ref.scalar_type() || t.device() != ref.device()) {
    std::ostringstream s;
    s << "argument '" << arg << "' must have the dtype and device of '" << ref_arg << "' ("
      << c10::toString(ref.scalar_type()) << " on " << ref.device() << "); got " << c10::toString(t.scalar_type())
      << " on " << t.device();
    fail(op, s.str());
  }
}

void check_finite(const at::Tensor& t, const char* op, const char* arg) {
  if (t.numel() == 0) return;
  // Fast path: one float64 reduction, no temporary. A NaN or an infinity makes the sum non-finite, so a finite sum
  // proves every element finite; a sum that overflowed from finite elements falls through to the exact search.
  if (std::isfinite(t.sum(at::kDouble).item<double>())) return;
  const at::Tensor bad = at::logical_not(at::isfinite(t));
  if (!bad.any().item<bool>()) return;
  const at::Tensor first = at::nonzero(bad.reshape({-1}))[0][0];
  const int64_t flat = first.item<int64_t>();
  std::vector<int64_t> index(t.dim());
  int64_t rest = flat;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    index[d] = rest % t.size(d);
    rest /= t.size(d);
  }
  const double value = t.reshape({-1})[flat].item<double>();
  std::ostringstream s;
  s << "argument '" << arg << "' contains " << (std::isnan(value) ? "NaN" : "an infinity") << " (first at index "
    << shape_str(index) << "); inputs must be finite";
  fail(op, s.str());
}

}  // namespace incontext::detail
