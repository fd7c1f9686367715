// Sizing the BLAS thread pool from inside the process. libtorch's CPU matrix products run on the BLAS its build
// links (OpenBLAS in the JavaCPP preset), whose pool torch.set_num_threads does not reach; OPENBLAS_NUM_THREADS
// only counts before the library loads. The symbol is looked up at run time so that builds against another BLAS
// (MKL in a PyTorch wheel) still load; they report that nothing was set.
#include <dlfcn.h>

#include <atomic>
#include <bit>

#include <ATen/Parallel.h>

#include "attention/attention.h"
#include "incontext/generator.h"

namespace incontext {

bool set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set == nullptr || threads < 1) return false;
  set(threads);
  return true;
}

std::string attention_cpu_isa() { return attn::fast_isa_name(); }

int64_t op_threads() {
  // Compiled like the ops' own parallel loops (this file is part of the same target and flags).
  std::atomic<uint64_t> seen{0};
  const int64_t n = std::max<int64_t>(1, at::get_num_threads()) * 16;
  at::parallel_for(0, n, 1, [&](int64_t, int64_t) { seen.fetch_or(uint64_t{1} << (at::get_thread_num() % 64)); });
  return std::popcount(seen.load());
}

}  // namespace incontext
