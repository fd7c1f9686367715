// Which SIMD build of a CPU kernel runs: the widest the CPU supports, capped by INCONTEXT_CPU_ISA=portable|avx2
// (avx512 caps nothing). The cap is how the tests run every build on one machine, and how a user checks that a result
// does not depend on the instruction set. Shared by the attention, prefix_lstsq and ReLU-net kernels.
#pragma once

#include <cstdlib>
#include <cstring>

namespace incontext::cpu {

enum class Isa { portable, avx2, avx512 };

// The widest build this CPU can run: AVX2 needs FMA too; AVX-512 needs F, VL and DQ, and BW when need_bw.
inline Isa supported(bool need_bw) {
#if defined(__x86_64__) || defined(__i386__)
  if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return Isa::portable;
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512dq") && (!need_bw || __builtin_cpu_supports("avx512bw"));
  return avx512 ? Isa::avx512 : Isa::avx2;
#else
  (void)need_bw;
  return Isa::portable;
#endif
}

// supported(need_bw) capped by INCONTEXT_CPU_ISA.
inline Isa widest(bool need_bw) {
  Isa best = supported(need_bw);
  const char* cap = std::getenv("INCONTEXT_CPU_ISA");
  if (cap != nullptr && std::strcmp(cap, "portable") == 0) best = Isa::portable;
  if (cap != nullptr && std::strcmp(cap, "avx2") == 0 && best == Isa::avx512) best = Isa::avx2;
  return best;
}

// The build's name as the kernels report it: "avx512", "avx2" or "portable".
inline const char* name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    case Isa::portable: return "portable";
  }
  return "?";
}

}  // namespace incontext::cpu
