// Process-level helpers the JavaCPP presets lack: seeded random generators on any device (the presets create CPU
// generators only), sizing the BLAS thread pool, what the ops run with (instruction set, threads), how freed memory
// goes back to the system, and the gradient pass of dynamic loss scaling.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace incontext {

// A fresh generator for `device` ("cpu", "cuda", "cuda:N") seeded with `seed`. Fails with a clear message for
// CUDA when this build has no CUDA.
at::Generator make_generator(const std::string& device, uint64_t seed);

// Sets the BLAS thread pool (OpenBLAS or MKL) to `threads` (>= 1). Returns false when the BLAS is neither.
bool set_blas_threads(int threads);

// The BLAS that runs libtorch's CPU matrix products in this process: MKL's or OpenBLAS's version string.
std::string blas_library();

// Where MKL runs the products, makes it use GNU OpenMP (libtorch's pool) unless MKL_THREADING_LAYER is set, and
// returns the layer in effect ("gnu", "intel", ...); "" under OpenBLAS.
std::string configure_blas();

// The instruction set the fused CPU attention kernel runs with in this process: "avx512", "avx2+fma" or "portable"
// (INCONTEXT_CPU_ISA=portable or =avx2 caps it).
std::string attention_cpu_isa();

// How many threads take part when this library's ops split work with at::parallel_for at the current
// at::get_num_threads(): the op library must be compiled with OpenMP for that (ATen/ParallelOpenMP.h is a header
// template that falls back to a serial loop without it), so 1 here with more torch threads means a broken build.
int64_t op_threads();

// Keeps memory that libtorch frees in the C heap for its next allocations instead of returning it to the system
// (glibc: mmap threshold 32 MiB, heap trimming off, a 64 MiB top pad so secondary heaps are not unmapped), so that a
// training loop stops paying a page fault per page of its activations every step. Process-wide; returns false where the C library is not glibc (nothing changed).
bool retain_freed_memory();

// Minor page faults of this process so far (getrusage), or -1 when the system does not say.
int64_t minor_page_faults();

// Dynamic loss scaling (training.precision: fp16): multiplies every gradient by inv_scale in place and sets
// found_inf to 1 when any of them holds an infinity or a NaN (libtorch's _amp_foreach_non_finite_check_and_unscale_,
// one fused pass per device on CUDA). found_inf and inv_scale: one-element float32 tensors on the gradients' device;
// found_inf is only ever set, never cleared. Gradients: defined, float32/float16/bfloat16, that device.
void unscale_gradients(std::vector<at::Tensor>& grads, at::Tensor& found_inf, const at::Tensor& inv_scale);

}  // namespace incontext
