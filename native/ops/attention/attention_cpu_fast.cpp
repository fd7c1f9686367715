// Fused attention on the CPU: scratch allocation and the choice between the portable and the AVX2+FMA
// compilation of the kernel body (attention_cpu_fast_impl.h, which documents the algorithm, shapes, cost and
// tolerance). The AVX2 build is picked at run time from the CPU's feature bits, so the library stays loadable
// on any x86-64 (and non-x86) machine while using 256-bit FMAs where they exist.
#include <math.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "attention/attention.h"

#define INCONTEXT_FAST_ISA portable
#include "attention/attention_cpu_fast_impl.h"
#undef INCONTEXT_FAST_ISA

namespace incontext::attn {

#if defined(INCONTEXT_HAVE_AVX2_KERNEL)
namespace avx2 {
template <class T>
bool forward_fast(const FwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end, T* scratch);
template <class T>
void backward_fast(const BwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end, T* scratch);
}  // namespace avx2
#endif

namespace {
// INCONTEXT_CPU_ISA=portable forces the portable build even where AVX2 exists: how tests show that results which
// must hold across machines (the golden losses) do not depend on the instruction set the kernel was built for.
bool cpu_has_avx2() {
#if defined(INCONTEXT_HAVE_AVX2_KERNEL) && (defined(__x86_64__) || defined(__i386__))
  static const bool has = [] {
    const char* isa = std::getenv("INCONTEXT_CPU_ISA");
    if (isa != nullptr && std::strcmp(isa, "portable") == 0) return false;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}
}  // namespace

bool forward_fast_uses_avx2() { return cpu_has_avx2(); }

template <class T>
bool forward_fast(const FwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end) {
  std::vector<T> scratch(static_cast<size_t>(portable::forward_scratch<T>(p.T_, p.D)));
#if defined(INCONTEXT_HAVE_AVX2_KERNEL)
  if (cpu_has_avx2()) return avx2::forward_fast<T>(p, bh_begin, bh_end, scratch.data());
#endif
  return portable::forward_fast<T>(p, bh_begin, bh_end, scratch.data());
}

template <class T>
void backward_fast(const BwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end) {
  std::vector<T> scratch(static_cast<size_t>(portable::backward_scratch<T>(p.T_, p.D)));
#if defined(INCONTEXT_HAVE_AVX2_KERNEL)
  if (cpu_has_avx2()) return avx2::backward_fast<T>(p, bh_begin, bh_end, scratch.data());
#endif
  portable::backward_fast<T>(p, bh_begin, bh_end, scratch.data());
}

template bool forward_fast<float>(const FwdParams<float, float>&, int64_t, int64_t);
template bool forward_fast<double>(const FwdParams<double, double>&, int64_t, int64_t);
template void backward_fast<float>(const BwdParams<float, float>&, int64_t, int64_t);
template void backward_fast<double>(const BwdParams<double, double>&, int64_t, int64_t);

}  // namespace incontext::attn
