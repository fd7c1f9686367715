// The fused CPU attention kernel body (attention_cpu_fast_impl.h) compiled for AVX-512 with 512-bit vectors into
// namespace incontext::attn::avx512; attention_cpu_fast.cpp calls it only when the CPU reports AVX-512F/VL/DQ/BW.
#include <math.h>

#include <cstdint>

#include "attention/attention.h"

#define INCONTEXT_FAST_ISA avx512
#define INCONTEXT_FAST_VECTOR_BYTES 64
#include "attention/attention_cpu_fast_impl.h"

namespace incontext::attn::avx512 {
template int64_t forward_scratch<float>(int64_t, int64_t);
template int64_t forward_scratch<double>(int64_t, int64_t);
template int64_t backward_scratch<float>(int64_t, int64_t);
template int64_t backward_scratch<double>(int64_t, int64_t);
template bool forward_fast<float>(const FwdParams<float, float>&, int64_t, int64_t, float*);
template bool forward_fast<double>(const FwdParams<double, double>&, int64_t, int64_t, double*);
template void backward_fast<float>(const BwdParams<float, float>&, int64_t, int64_t, float*);
template void backward_fast<double>(const BwdParams<double, double>&, int64_t, int64_t, double*);
}  // namespace incontext::attn::avx512
