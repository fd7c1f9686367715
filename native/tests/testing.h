// Minimal harness for the native tests: plain executables (no third-party framework) that build wherever the
// ops build, including the GPU machine. Inputs are drawn from a printed seed (INCONTEXT_SEED overrides it),
// comparisons print their first mismatches, and main() ends with "N passed, M failed".
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace incontext::testing {

inline uint64_t seed_from_env() {
  if (const char* s = std::getenv("INCONTEXT_SEED")) return std::strtoull(s, nullptr, 10);
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) % 1000000007ULL;
}

struct Suite {
  int passed = 0, failed = 0, skipped = 0;
  std::vector<std::string> failures;

  void run(const std::string& name, const std::function<bool()>& body) {
    bool ok = false;
    try {
      ok = body();
    } catch (const std::exception& e) {
      std::printf("  exception: %s\n", e.what());
    }
    std::printf("%s %s\n", ok ? "[ OK ]" : "[FAIL]", name.c_str());
    std::fflush(stdout);
    if (ok) ++passed; else { ++failed; failures.push_back(name); }
  }

  void skip(const std::string& name, const std::string& why) {
    std::printf("[SKIP] %s: %s\n", name.c_str(), why.c_str());
    ++skipped;
  }

  int finish() const {
    for (const auto& f : failures) std::printf("failed: %s\n", f.c_str());
    std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed == 0 ? 0 : 1;
  }
};

// |got - ref| <= atol + rtol * |ref| elementwise, every element finite. Prints the first mismatches.
inline bool allclose(const std::string& what, const at::Tensor& got_in, const at::Tensor& ref_in, double atol,
                     double rtol) {
  const at::Tensor got = got_in.detach().to(at::kDouble).cpu().contiguous().reshape({-1});
  const at::Tensor ref = ref_in.detach().to(at::kDouble).cpu().contiguous().reshape({-1});
  if (got.numel() != ref.numel()) {
    std::printf("  %s: %lld elements, reference has %lld\n", what.c_str(), (long long)got.numel(), (long long)ref.numel());
    return false;
  }
  const double* g = got.data_ptr<double>();
  const double* r = ref.data_ptr<double>();
  int shown = 0;
  int64_t bad = 0;
  double worst = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double err = std::abs(g[i] - r[i]);
    const bool ok = std::isfinite(g[i]) && err <= atol + rtol * std::abs(r[i]);
    worst = std::max(worst, std::isfinite(err) ? err : INFINITY);
    if (!ok) {
      ++bad;
      if (shown++ < 5) std::printf("  %s[%lld]: got %.17g, expected %.17g (|diff| %.3g)\n", what.c_str(), (long long)i, g[i], r[i], err);
    }
  }
  if (bad) std::printf("  %s: %lld of %lld elements outside atol %.1e + rtol %.1e (max |diff| %.3g)\n", what.c_str(),
                       (long long)bad, (long long)got.numel(), atol, rtol, worst);
  return bad == 0;
}

// True when f() throws a c10::Error whose message (without backtrace) contains `needle`; prints what happened
// otherwise. Used to check that bad arguments are named in the error.
inline bool raises_containing(const char* needle, const std::function<void()>& f) {
  try {
    f();
    std::printf("  no error for case '%s'\n", needle);
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    if (msg.find(needle) != std::string::npos) return true;
    std::printf("  message lacks '%s': %s\n", needle, msg.c_str());
  }
  return false;
}

// max |got - ref| / max |ref|: the relative error of a whole tensor.
inline double rel_err(const at::Tensor& got, const at::Tensor& ref) {
  const at::Tensor r = ref.detach().to(at::kDouble).cpu();
  const at::Tensor g = got.detach().to(at::kDouble).cpu();
  const double denom = std::max(r.abs().max().item<double>(), 1e-300);
  return (g - r).abs().max().item<double>() / denom;
}

}  // namespace incontext::testing
