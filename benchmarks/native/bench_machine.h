// What the native benchmarks print about the machine they ran on, so that a table carries its own provenance:
// the CPU model, hardware threads, torch's threads and how many the ops' parallel loops used, libtorch's CPU
// capability and BLAS, and peaks measured in the same run (a 2048^3 matmul, a 64M-element copy).
#pragma once

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include "incontext/generator.h"

namespace incontext::bench {

inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// Best-of-10 GFLOP/s of a 2048^3 matmul and GB/s (read + write) of a 64M-element copy, in `dtype` on the CPU.
inline std::pair<double, double> cpu_peaks(at::ScalarType dtype) {
  auto best_ms = [](auto&& f) {
    f();
    double best = 1e300;
    for (int i = 0; i < 10; ++i) {
      const auto a = std::chrono::steady_clock::now();
      f();
      best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    return best;
  };
  const auto opt = at::TensorOptions().dtype(dtype);
  const at::Tensor a = at::randn({2048, 2048}, opt), b = at::randn({2048, 2048}, opt);
  const double mm = 2.0 * 2048 * 2048 * 2048 / (best_ms([&] { at::mm(a, b); }) * 1e6);
  const at::Tensor x = at::empty({64 << 20}, opt);
  at::Tensor y = at::empty_like(x);
  const double cp = 2.0 * x.numel() * x.element_size() / (best_ms([&] { y.copy_(x); }) * 1e6);
  return {mm, cp};
}

// "cpu: AMD EPYC, 2 hardware threads; torch threads 2 (ops' loops 2); libtorch capability AVX512; BLAS ..."
inline std::string machine_line() {
  return "cpu: " + cpu_model() + ", " + std::to_string(std::thread::hardware_concurrency()) +
         " hardware threads; torch threads " + std::to_string(at::get_num_threads()) + " (the ops' parallel loops: " +
         std::to_string(incontext::op_threads()) + "); libtorch CPU capability " + at::get_cpu_capability() +
         "; BLAS " + incontext::blas_library();
}

}  // namespace incontext::bench
