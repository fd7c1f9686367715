// Attention on CUDA, straightforward version: one warp per query row (b, h, i).
//
// Forward: the warp's lanes split the head dimension (D <= 32 * kMaxPerLane); for each visible key the
// score q_i . k_j is a warp reduction, and an online softmax (running max m, running sum l) rescales the
// output accumulator, so one pass over the keys suffices; lse_i = m + log l is saved for the backward pass.
// Backward: the same warp recomputes p_ij = exp(s_ij - lse_i), writes dq_i, and adds p_ij dO_i into dv_j
// and ds_ij q_i into dk_j with float32 atomics (dk_acc, dv_acc are zeroed by the caller).
// Shapes: contiguous (B, H, T, D); cost O(B H T^2 D); float32 arithmetic for every storage type.
// This is the correct-first CUDA path; the tiled shared-memory kernel replaces it on the hot path.
#include "attention/attention.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>

namespace incontext::attn {

namespace {

constexpr int kWarp = 32;
constexpr int kMaxPerLane = 8;  // D up to 256
constexpr int kWarpsPerBlock = 4;

__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }
template <class T>
__device__ __forceinline__ T from_f(float x);
template <>
__device__ __forceinline__ float from_f<float>(float x) { return x; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) { return __float2bfloat16(x); }
template <>
__device__ __forceinline__ __half from_f<__half>(float x) { return __float2half(x); }

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o /= 2) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

template <class T>
__global__ void forward_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                               T* __restrict__ o, float* __restrict__ lse, int64_t rows, int T_, int D,
                               float scale, bool causal) {
  const int lane = threadIdx.x % kWarp;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  if (row >= rows) return;
  const int i = static_cast<int>(row % T_);
  const int64_t base = (row - i) * D;  // start of this (b, h)
  float qr[kMaxPerLane], acc[kMaxPerLane];
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e) {
    const int d = lane + e * kWarp;
    qr[e] = d < D ? to_f(q[base + static_cast<int64_t>(i) * D + d]) : 0.f;
    acc[e] = 0.f;
  }
  float m = -INFINITY, l = 0.f;
  const int nkeys = causal ? i + 1 : T_;
  for (int j = 0; j < nkeys; ++j) {
    const T* kj = k + base + static_cast<int64_t>(j) * D;
    float part = 0.f;
#pragma unroll
    for (int e = 0; e < kMaxPerLane; ++e) {
      const int d = lane + e * kWarp;
      if (d < D) part += qr[e] * to_f(kj[d]);
    }
    const float s = warp_sum(part) * scale;
    const float m_new = fmaxf(m, s);
    const float corr = __expf(m - m_new);  // 0 on the first key (m = -inf)
    const float pj = __expf(s - m_new);
    l = l * corr + pj;
    const T* vj = v + base + static_cast<int64_t>(j) * D;
#pragma unroll
    for (int e = 0; e < kMaxPerLane; ++e) {
      const int d = lane + e * kWarp;
      if (d < D) acc[e] = acc[e] * corr + pj * to_f(vj[d]);
    }
    m = m_new;
  }
  const float inv = 1.f / l;
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e) {
    const int d = lane + e * kWarp;
    if (d < D) o[base + static_cast<int64_t>(i) * D + d] = from_f<T>(acc[e] * inv);
  }
  if (lane == 0) lse[row] = m + logf(l);
}

template <class T>
__global__ void backward_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                const T* __restrict__ o, const T* __restrict__ dout, const float* __restrict__ lse,
                                T* __restrict__ dq, float* __restrict__ dk, float* __restrict__ dv, int64_t rows,
                                int T_, int D, float scale, bool causal) {
  const int lane = threadIdx.x % kWarp;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  if (row >= rows) return;
  const int i = static_cast<int>(row % T_);
  const int64_t base = (row - i) * D;
  const int64_t ri = base + static_cast<int64_t>(i) * D;
  float qr[kMaxPerLane], dor[kMaxPerLane], dqr[kMaxPerLane];
  float delta_part = 0.f;
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e) {
    const int d = lane + e * kWarp;
    qr[e] = d < D ? to_f(q[ri + d]) : 0.f;
    dor[e] = d < D ? to_f(dout[ri + d]) : 0.f;
    delta_part += d < D ? dor[e] * to_f(o[ri + d]) : 0.f;
    dqr[e] = 0.f;
  }
  const float delta = warp_sum(delta_part);
  const float lse_i = lse[row];
  const int nkeys = causal ? i + 1 : T_;
  for (int j = 0; j < nkeys; ++j) {
    const int64_t rj = base + static_cast<int64_t>(j) * D;
    float s_part = 0.f, dp_part = 0.f;
#pragma unroll
    for (int e = 0; e < kMaxPerLane; ++e) {
      const int d = lane + e * kWarp;
      if (d < D) {
        s_part += qr[e] * to_f(k[rj + d]);
        dp_part += dor[e] * to_f(v[rj + d]);
      }
    }
    const float pij = __expf(warp_sum(s_part) * scale - lse_i);
    const float ds = pij * (warp_sum(dp_part) - delta);
#pragma unroll
    for (int e = 0; e < kMaxPerLane; ++e) {
      const int d = lane + e * kWarp;
      if (d < D) {
        dqr[e] += scale * ds * to_f(k[rj + d]);
        atomicAdd(&dk[rj + d], scale * ds * qr[e]);
        atomicAdd(&dv[rj + d], pij * dor[e]);
      }
    }
  }
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e) {
    const int d = lane + e * kWarp;
    if (d < D) dq[ri + d] = from_f<T>(dqr[e]);
  }
}

template <class T>
const char* launch_forward(const CudaFwd& p, cudaStream_t stream) {
  const int64_t rows = p.B * p.H * p.T_;
  if (rows == 0) return nullptr;
  const unsigned blocks = static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  forward_kernel<T><<<blocks, kWarpsPerBlock * kWarp, 0, stream>>>(
      static_cast<const T*>(p.q), static_cast<const T*>(p.k), static_cast<const T*>(p.v), static_cast<T*>(p.o),
      p.lse, rows, static_cast<int>(p.T_), static_cast<int>(p.D), p.scale, p.causal);
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? nullptr : cudaGetErrorString(err);
}

template <class T>
const char* launch_backward(const CudaBwd& p, cudaStream_t stream) {
  const int64_t rows = p.B * p.H * p.T_;
  if (rows == 0) return nullptr;
  const unsigned blocks = static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  backward_kernel<T><<<blocks, kWarpsPerBlock * kWarp, 0, stream>>>(
      static_cast<const T*>(p.q), static_cast<const T*>(p.k), static_cast<const T*>(p.v),
      static_cast<const T*>(p.o), static_cast<const T*>(p.dout), p.lse, static_cast<T*>(p.dq), p.dk_acc, p.dv_acc,
      rows, static_cast<int>(p.T_), static_cast<int>(p.D), p.scale, p.causal);
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? nullptr : cudaGetErrorString(err);
}

}  // namespace

const char* forward_cuda(const CudaFwd& p, void* stream) {
  if (p.D > kWarp * kMaxPerLane) return "head dimension D above 256 is not supported on CUDA";
  auto s = static_cast<cudaStream_t>(stream);
  switch (p.dtype) {
    case Storage::f32: return launch_forward<float>(p, s);
    case Storage::bf16: return launch_forward<__nv_bfloat16>(p, s);
    case Storage::f16: return launch_forward<__half>(p, s);
  }
  return "unknown storage type";
}

const char* backward_cuda(const CudaBwd& p, void* stream) {
  if (p.D > kWarp * kMaxPerLane) return "head dimension D above 256 is not supported on CUDA";
  auto s = static_cast<cudaStream_t>(stream);
  switch (p.dtype) {
    case Storage::f32: return launch_backward<float>(p, s);
    case Storage::bf16: return launch_backward<__nv_bfloat16>(p, s);
    case Storage::f16: return launch_backward<__half>(p, s);
  }
  return "unknown storage type";
}

}  // namespace incontext::attn
