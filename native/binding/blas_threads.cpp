// What the ops and libtorch run on, asked of the process at run time: the BLAS under libtorch's CPU matrix
// products (OpenBLAS as the JavaCPP preset links it, or MKL when dev.incontext.ops.Blas loads it in OpenBLAS's
// place), its thread count and MKL's threading layer, the attention kernel's instruction set, and the width of the
// ops' parallel loops. BLAS symbols are looked up with dlsym, so that the library loads whatever BLAS is present;
// a BLAS without them reports that nothing was set.
#include <dlfcn.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <bit>

#include <ATen/Parallel.h>

#include "attention/attention.h"
#include "incontext/generator.h"

namespace incontext {

bool set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  if (threads < 1) return false;
  auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set == nullptr) set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "MKL_Set_Num_Threads"));
  if (set == nullptr) return false;
  set(threads);
  return true;
}

std::string blas_library() {
  using Version = void (*)(char*, int);
  if (auto version = reinterpret_cast<Version>(dlsym(RTLD_DEFAULT, "MKL_Get_Version_String"))) {
    char buf[256] = {0};
    version(buf, sizeof buf - 1);
    return buf;
  }
  using Config = char* (*)();
  if (auto config = reinterpret_cast<Config>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) return config();  // "OpenBLAS 0.3.31 DYNAMIC_ARCH ..."
  return "unknown";
}

std::string configure_blas() {
  // MKL's default threading layer is Intel OpenMP: a second thread pool beside the libgomp one libtorch and these
  // ops run on, which oversubscribes the cores. GNU OpenMP shares libtorch's. It must be chosen before MKL's first
  // call; an explicit MKL_THREADING_LAYER in the environment wins.
  using SetLayer = int (*)(int);
  auto set = reinterpret_cast<SetLayer>(dlsym(RTLD_DEFAULT, "MKL_Set_Threading_Layer"));
  if (set == nullptr) return "";
  if (const char* env = std::getenv("MKL_THREADING_LAYER")) {  // MKL reads it itself; no call can query it
    std::string layer(env);
    for (char& c : layer) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return layer;
  }
  constexpr int kGnu = 3, kIntel = 0, kSequential = 1, kTbb = 4;  // MKL_THREADING_* in mkl_service.h
  const int layer = set(kGnu);  // the layer in effect afterwards (an earlier MKL call may have fixed another)
  switch (layer) {
    case kGnu: return "gnu";
    case kIntel: return "intel";
    case kSequential: return "sequential";
    case kTbb: return "tbb";
  }
  return "layer " + std::to_string(layer);
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
