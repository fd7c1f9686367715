// Sizing the BLAS thread pool from inside the process. libtorch's CPU matrix products run on the BLAS its build
// links (OpenBLAS in the JavaCPP preset), whose pool torch.set_num_threads does not reach; OPENBLAS_NUM_THREADS
// only counts before the library loads. The symbol is looked up at run time so that builds against another BLAS
// (MKL in a PyTorch wheel) still load; they report that nothing was set.
#include <dlfcn.h>

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

}  // namespace incontext
