// Fused attention on the CPU: scratch allocation and the choice between the portable, the AVX2+FMA and the
// AVX-512 compilations of the kernel body (attention_cpu_fast_impl.h, which documents the algorithm, shapes, cost
// and tolerance). The build is picked at run time from the CPU's feature bits, so the library stays loadable on any
// x86-64 (and non-x86) machine while using 256- or 512-bit FMAs where they exist.
#include <math.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "attention/attention.h"
#include "cpu_isa.h"

#define INCONTEXT_FAST_ISA portable
#include "attention/attention_cpu_fast_impl.h"
#undef INCONTEXT_FAST_ISA

namespace incontext::attn {

#if defined(INCONTEXT_HAVE_AVX2_KERNEL)
namespace avx2 {
template <class T>
int64_t forward_scratch(int64_t T_, int64_t D);
template <class T>
int64_t backward_scratch(int64_t T_, int64_t D);
template <class T>
bool forward_fast(const FwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end, T* scratch);
template <class T>
void backward_fast(const BwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end, T* scratch);
}  // namespace avx2
namespace avx512 {
template <class T>
int64_t forward_scratch(int64_t T_, int64_t D);
template <class T>
int64_t backward_scratch(int64_t T_, int64_t D);
template <class T>
bool forward_fast(const FwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end, T* scratch);
template <class T>
void backward_fast(const BwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end, T* scratch);
}  // namespace avx512
#endif

namespace {
using cpu::Isa;

// The widest build the CPU runs (AVX-512 with BW), capped by INCONTEXT_CPU_ISA (cpu_isa.h); portable when the AVX2
// and AVX-512 compilations are not built.
Isa detect() {
#if defined(INCONTEXT_HAVE_AVX2_KERNEL)
  return cpu::widest(/*need_bw=*/true);
#else
  return Isa::portable;
#endif
}

Isa isa() {
  static const Isa chosen = detect();
  return chosen;
}
}  // namespace

bool forward_fast_uses_avx2() { return isa() != Isa::portable; }

const char* fast_isa_name() {
  switch (isa()) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2+fma";
    case Isa::portable: return "portable";
  }
  return "?";
}

// Scratch for one task range, reused by the thread across calls: a fresh vector per call cost a zeroing pass and,
// from 128 KB up, an mmap with its page faults on every call. Kept only up to 16 MB per thread and type; larger
// requests get a vector of their own for the call. Used as a temporary within the kernel call's full expression.
template <class T>
class Scratch {
 public:
  explicit Scratch(int64_t n) {
    constexpr int64_t kKeepBytes = int64_t{16} << 20;
    thread_local std::vector<T> kept;
    std::vector<T>& buf = n * static_cast<int64_t>(sizeof(T)) <= kKeepBytes ? kept : own_;
    if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
    data_ = buf.data();
  }
  T* data() const { return data_; }

 private:
  std::vector<T> own_;
  T* data_;
};

template <class T>
bool forward_fast(const FwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end) {
  // Each build sizes its own scratch (their row blocks differ).
#if defined(INCONTEXT_HAVE_AVX2_KERNEL)
  if (isa() == Isa::avx512) {
    return avx512::forward_fast<T>(p, bh_begin, bh_end, Scratch<T>(avx512::forward_scratch<T>(p.T_, p.D)).data());
  }
  if (isa() == Isa::avx2) {
    return avx2::forward_fast<T>(p, bh_begin, bh_end, Scratch<T>(avx2::forward_scratch<T>(p.T_, p.D)).data());
  }
#endif
  return portable::forward_fast<T>(p, bh_begin, bh_end, Scratch<T>(portable::forward_scratch<T>(p.T_, p.D)).data());
}

template <class T>
void backward_fast(const BwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end) {
#if defined(INCONTEXT_HAVE_AVX2_KERNEL)
  if (isa() == Isa::avx512) {
    return avx512::backward_fast<T>(p, bh_begin, bh_end, Scratch<T>(avx512::backward_scratch<T>(p.T_, p.D)).data());
  }
  if (isa() == Isa::avx2) {
    return avx2::backward_fast<T>(p, bh_begin, bh_end, Scratch<T>(avx2::backward_scratch<T>(p.T_, p.D)).data());
  }
#endif
  portable::backward_fast<T>(p, bh_begin, bh_end, Scratch<T>(portable::backward_scratch<T>(p.T_, p.D)).data());
}

template bool forward_fast<float>(const FwdParams<float, float>&, int64_t, int64_t);
template bool forward_fast<double>(const FwdParams<double, double>&, int64_t, int64_t);
template void backward_fast<float>(const BwdParams<float, float>&, int64_t, int64_t);
template void backward_fast<double>(const BwdParams<double, double>&, int64_t, int64_t);

}  // namespace incontext::attn
