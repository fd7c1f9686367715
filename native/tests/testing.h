// Minimal harness for the native tests: plain executables (no third-party framework) that build wherever the
// ops build, including the GPU machine. Inputs are drawn from a printed seed (INCONTEXT_SEED overrides it),
// comparisons print their first mismatches, and main() ends with "N passed, M failed, K skipped".
// Each executable holds a CPU part and a CUDA part; `--part cpu|cuda` runs one (CMake registers each as its own
// ctest test), and a run in which every selected case was skipped exits with kSkipReturnCode, which ctest's
// SKIP_RETURN_CODE turns into "Skipped" in its summary instead of a silent "Passed".
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "cpu_isa.h"

namespace incontext::testing {

inline uint64_t seed_from_env() {
  if (const char* s = std::getenv("INCONTEXT_SEED")) return std::strtoull(s, nullptr, 10);
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) % 1000000007ULL;
}

inline constexpr int kSkipReturnCode = 77;

struct Suite {
  enum class Part { all, cpu, cuda };
  int passed = 0, failed = 0, skipped = 0;
  std::vector<std::string> failures;
  Part part = Part::all;
  bool in_cuda = false;
  bool bad_args = false;

  Suite() = default;
  Suite(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      const std::string v = a == "--part" && i + 1 < argc ? argv[++i] : a.rfind("--part=", 0) == 0 ? a.substr(7) : "";
      if (v == "cpu") part = Part::cpu;
      else if (v == "cuda") part = Part::cuda;
      else if (v == "all") part = Part::all;
      else {
        std::printf("unknown argument '%s' (expected --part cpu|cuda|all)\n", a.c_str());
        bad_args = true;
      }
    }
  }

  // Every case from here on belongs to the CUDA part.
  void cuda_section() { in_cuda = true; }

  bool selected() const { return part == Part::all || (part == Part::cuda) == in_cuda; }

  void run(const std::string& name, const std::function<bool()>& body) {
    if (!selected()) return;
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
    if (!selected()) return;
    std::printf("[SKIP] %s: %s\n", name.c_str(), why.c_str());
    ++skipped;
  }

  int finish() const {
    for (const auto& f : failures) std::printf("failed: %s\n", f.c_str());
    std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    if (bad_args || failed > 0) return 1;
    return passed == 0 && skipped > 0 ? kSkipReturnCode : 0;
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

// A kernel test run capped to a build (INCONTEXT_CPU_ISA=portable|avx2|avx512; ctest runs each kernel test once per
// build) tests that build or nothing: on a CPU that cannot run it, the whole run is to report Skipped (the return
// value is kSkipReturnCode; not a pass that quietly tested another build); otherwise a case checks that `running`
// (the kernel's own name for its build, e.g. "avx2+fma" for "avx2") is the one asked for. Returns 0 to go on.
inline int check_isa_build(Suite& suite, const char* kernel, const char* running, bool need_bw) {
  const char* want = std::getenv("INCONTEXT_CPU_ISA");
  std::printf("%s build in use: %s (INCONTEXT_CPU_ISA=%s)\n", kernel, running, want ? want : "unset");
  if (want == nullptr) return 0;
  const std::string w = want;
  const cpu::Isa has = cpu::supported(need_bw);
  const bool can = w == "portable" || (w == "avx2" && has != cpu::Isa::portable) ||
                   (w == "avx512" && has == cpu::Isa::avx512);
  if (!can) {
    std::printf("this CPU cannot run the %s build of the %s: the whole run is skipped\n", want, kernel);
    return kSkipReturnCode;
  }
  const std::string got = running;
  suite.run(std::string("the ") + kernel + " runs the build asked for (" + w + ")", [&] {
    const bool ok = got == w || got == w + "+fma";
    if (!ok) std::printf("  asked for %s, running %s\n", want, running);
    return ok;
  });
  return 0;
}

}  // namespace incontext::testing
