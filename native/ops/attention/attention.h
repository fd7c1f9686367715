// Attention kernels: plain data in, no torch types. The binding (native/binding/attention_op.cpp) checks the
// arguments, makes the tensors contiguous and fills these structs.
//
// Layout: q, k, v (the inputs) share one set of strides, o, dout, dq, dk, dv (the outputs and gradients) another;
// in each the head dimension d is contiguous. lse is contiguous (B, H, T). lse[i] = log sum_j exp(scale * q_i . k_j)
// over the visible keys, saved by the forward pass so that the backward pass recomputes probabilities row by row and
// never holds a T x T matrix in memory.
#pragma once

#include <cstdint>

namespace incontext::attn {

// Where element (b, h, t, d) of a tensor lies: b * sb + h * sh + t * st + d. Contiguous (B, H, T, D) is
// {H T D, T D, D}; the head views of a (B, T, 3 H D) projection split into q, k and v are {3 T H D, D, 3 H D};
// (B, T, H, D) memory seen as (B, H, T, D) is {T H D, D, H D}.
struct Strides {
  int64_t sb, sh, st;
  // Offset of the (b, h) pair number bh = b H + h.
  int64_t at(int64_t bh, int64_t H) const { return (bh / H) * sb + (bh % H) * sh; }
};
inline Strides contiguous_strides(int64_t H, int64_t T, int64_t D) { return {H * T * D, T * D, D}; }

template <class T, class L>
struct FwdParams {
  const T* q;
  const T* k;
  const T* v;
  T* o;
  L* lse;
  int64_t B, H, T_, D;
  double scale;
  bool causal;
  Strides in;   // q, k, v
  Strides out;  // o
};

template <class T, class L>
struct BwdParams {
  const T* q;
  const T* k;
  const T* v;
  const T* o;
  const T* dout;
  const L* lse;
  T* dq;
  T* dk;
  T* dv;
  int64_t B, H, T_, D;
  double scale;
  bool causal;
  Strides in;   // q, k, v
  Strides out;  // o, dout, dq, dk, dv
};

// Naive reference: for (b, h) pairs [bh_begin, bh_end), every row in float64. This is the spec.
template <class T, class L>
void forward_reference(const FwdParams<T, L>& p, int64_t bh_begin, int64_t bh_end);
template <class T, class L>
void backward_reference(const BwdParams<T, L>& p, int64_t bh_begin, int64_t bh_end);

// Fused CPU kernels (attention_cpu_fast.cpp): same contract as the reference for T = float or double (lse in
// the storage type), computed in the storage precision with vectorised, register-blocked tiles; they allocate
// their own O(T D) scratch per call, so call them once per thread over a range of (b, h). forward_fast returns
// false when it met a non-finite element of q, k or v (it checks them as it packs them).
template <class T>
bool forward_fast(const FwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end);
template <class T>
void backward_fast(const BwdParams<T, T>& p, int64_t bh_begin, int64_t bh_end);
// Whether the fast kernels run their AVX2+FMA build on this CPU (for benchmark reports).
bool forward_fast_uses_avx2();
// The build the fast kernels run with in this process: "avx512", "avx2+fma" or "portable".
const char* fast_isa_name();

// CUDA (attention_cuda.cu): storage float32, bfloat16 or float16 (the pointers of the params are read
// as that type), float32 arithmetic, float32 lse. The backward pass accumulates dk and dv in float32
// buffers dk_acc, dv_acc (B, H, T, D) that the caller zeroes; dq is written in the storage type.
// stream is a cudaStream_t. Each returns a CUDA error string, or nullptr on success.
enum class Storage { f32, bf16, f16 };
struct CudaFwd {
  Storage dtype;
  const void* q;
  const void* k;
  const void* v;
  void* o;
  float* lse;
  int64_t B, H, T_, D;
  float scale;
  bool causal;
};
struct CudaBwd {
  Storage dtype;
  const void* q;
  const void* k;
  const void* v;
  const void* o;
  const void* dout;
  const float* lse;
  void* dq;
  float* dk_acc;
  float* dv_acc;
  int64_t B, H, T_, D;
  float scale;
  bool causal;
};
const char* forward_cuda(const CudaFwd& p, void* stream);
const char* backward_cuda(const CudaBwd& p, void* stream);

}  // namespace incontext::attn
