// Process-level helpers the JavaCPP presets lack: seeded random generators on any device (the presets create CPU
// generators only), sizing the BLAS thread pool, and what the ops run with (instruction set, threads).
#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Generator.h>

namespace incontext {

// A fresh generator for `device` ("cpu", "cuda", "cuda:N") seeded with `seed`. Fails with a clear message for
// CUDA when this build has no CUDA.
at::Generator make_generator(const std::string& device, uint64_t seed);

// Sets the OpenBLAS thread pool to `threads` (>= 1). Returns false when the process's BLAS is not OpenBLAS.
bool set_blas_threads(int threads);

// The instruction set the fused CPU attention kernel runs with in this process: "avx512", "avx2+fma" or "portable"
// (INCONTEXT_CPU_ISA=portable or =avx2 caps it).
std::string attention_cpu_isa();

// How many threads take part when this library's ops split work with at::parallel_for at the current
// at::get_num_threads(): the op library must be compiled with OpenMP for that (ATen/ParallelOpenMP.h is a header
// template that falls back to a serial loop without it), so 1 here with more torch threads means a broken build.
int64_t op_threads();

}  // namespace incontext
