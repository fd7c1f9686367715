// Attention on CUDA: a shared-memory kernel family for short sequences, and a warp-per-row fallback for the rest.
//
// Fast path (T <= 256; forward D in {16, 32, 64}, backward D in {16, 32}): one thread block per (b, h, tile of
// 64 rows), the whole K and V (forward, dQ) or Q and dO (dK, dV) of the (b, h) staged in shared memory as float32,
// one thread per row with its row vectors in registers (D is a template parameter, so loops unroll fully).
//   forward:  thread i streams keys j <= i (causal) from shared memory in chunks of 8: scores, chunk max, one
//             rescale of the accumulator per chunk (online softmax), then p_ij v_j; writes o_i and lse_i.
//   dK, dV:   thread j (a key) streams queries i >= j: p_ij = exp(scale q_i.k_j - lse_i), dp_ij = dO_i.v_j,
//             dv_j += p_ij dO_i, dk_j += p_ij (dp_ij - delta_i) q_i; no atomics, every element written once.
//   dQ:       thread i streams keys j <= i: dq_i += p_ij (dp_ij - delta_i) k_j.
// Shared-memory reads are warp broadcasts (all threads of a warp read the same key or query row). Cost is
// O(B H T^2 D) FMAs like the math; 16-bit inputs are converted to float32 on load (no tensor cores yet).
// Shared memory: 2 T D floats (128 KB at T = 256, D = 64), opted in above the 48 KB default per launch.
// Tolerance: float32 storage uses expf and is tested at 1e-5 relative to float64; 16-bit at twice the naive error.
//
// Fallback, straightforward version: one warp per query row (b, h, i).
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
#include <type_traits>

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

// ---- shared-memory fast path ----------------------------------------------------------------------------------

constexpr int kSmemRows = 64;    // rows (threads) per block
constexpr int kSmemMaxT = 256;   // longest sequence the fast path stages in shared memory
constexpr int kChunk = 8;        // keys per online-softmax rescale
const char* const kNotHandled = "not handled";  // sentinel: the shape is outside the fast path

template <class T>
__device__ __forceinline__ float exp_acc(float x) {
  // float32 storage is held to 1e-5 of float64, so it takes the accurate expf; 16-bit storage cannot see the
  // difference and takes the hardware approximation.
  if constexpr (std::is_same<T, float>::value) return expf(x); else return __expf(x);
}

template <int D>
__device__ __forceinline__ float dot_smem(const float (&r)[D], const float* __restrict__ row) {
  float acc = 0.f;
#pragma unroll
  for (int d = 0; d < D; d += 4) {
    const float4 x = *reinterpret_cast<const float4*>(row + d);  // row is 16-byte aligned: D % 4 == 0
    acc += r[d] * x.x + r[d + 1] * x.y + r[d + 2] * x.z + r[d + 3] * x.w;
  }
  return acc;
}

// Stages rows [r0, r1) of two (T, D) tensors of one (b, h) into shared memory as float32.
template <class T, int D>
__device__ __forceinline__ void stage2(const T* __restrict__ a, const T* __restrict__ b, float* sa, float* sb,
                                       int r0, int r1) {
  const int n = (r1 - r0) * D;
  const T* pa = a + static_cast<int64_t>(r0) * D;
  const T* pb = b + static_cast<int64_t>(r0) * D;
  for (int e = threadIdx.x; e < n; e += blockDim.x) {
    sa[e] = to_f(pa[e]);
    sb[e] = to_f(pb[e]);
  }
}

template <class T, int D>
__global__ void __launch_bounds__(kSmemRows) smem_forward_kernel(const T* __restrict__ q, const T* __restrict__ k,
                                                                 const T* __restrict__ v, T* __restrict__ o,
                                                                 float* __restrict__ lse, int T_, float scale,
                                                                 bool causal) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const int64_t bh = blockIdx.x;
  const int tile0 = blockIdx.y * kSmemRows;
  const int kmax = causal ? min(T_, tile0 + kSmemRows) : T_;
  const int64_t base = bh * T_ * D;
  float* Ks = smem;
  float* Vs = smem + kmax * D;
  stage2<T, D>(k + base, v + base, Ks, Vs, 0, kmax);
  __syncthreads();
  const int i = tile0 + static_cast<int>(threadIdx.x);
  if (i >= T_) return;  // no barrier follows
  float qr[D], acc[D];
#pragma unroll
  for (int d = 0; d < D; ++d) {
    qr[d] = to_f(q[base + static_cast<int64_t>(i) * D + d]);
    acc[d] = 0.f;
  }
  float m = -INFINITY, l = 0.f;
  const int nk = causal ? i + 1 : T_;
  for (int j0 = 0; j0 < nk; j0 += kChunk) {
    float sc[kChunk];
    float cm = -INFINITY;
#pragma unroll
    for (int c = 0; c < kChunk; ++c) {
      const int j = j0 + c;
      sc[c] = j < nk ? scale * dot_smem<D>(qr, Ks + j * D) : -INFINITY;
      cm = fmaxf(cm, sc[c]);
    }
    const float m_new = fmaxf(m, cm);  // finite: the chunk holds at least key j0 < nk
    const float corr = exp_acc<T>(m - m_new);  // 0 on the first chunk
    l *= corr;
#pragma unroll
    for (int d = 0; d < D; ++d) acc[d] *= corr;
#pragma unroll
    for (int c = 0; c < kChunk; ++c) {
      const int j = j0 + c;
      if (j < nk) {
        const float pj = exp_acc<T>(sc[c] - m_new);
        l += pj;
        const float* vr = Vs + j * D;
#pragma unroll
        for (int d = 0; d < D; ++d) acc[d] += pj * vr[d];
      }
    }
    m = m_new;
  }
  const float inv = 1.f / l;
#pragma unroll
  for (int d = 0; d < D; ++d) o[base + static_cast<int64_t>(i) * D + d] = from_f<T>(acc[d] * inv);
  lse[bh * T_ + i] = m + logf(l);
}

// dK and dV: one thread per key j of the tile; Q, dO, lse and delta of the visible queries in shared memory.
template <class T, int D>
__global__ void __launch_bounds__(kSmemRows) smem_dkdv_kernel(const T* __restrict__ q, const T* __restrict__ k,
                                                              const T* __restrict__ v, const T* __restrict__ o,
                                                              const T* __restrict__ dout,
                                                              const float* __restrict__ lse, float* __restrict__ dk,
                                                              float* __restrict__ dv, int T_, float scale,
                                                              bool causal) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const int64_t bh = blockIdx.x;
  const int tile0 = blockIdx.y * kSmemRows;
  const int q0 = causal ? tile0 : 0;  // queries before the tile see none of its keys when causal
  const int nq = T_ - q0;
  const int64_t base = bh * T_ * D;
  float* Qs = smem;
  float* dOs = Qs + nq * D;
  float* lse_s = dOs + nq * D;
  float* delta_s = lse_s + nq;
  stage2<T, D>(q + base, dout + base, Qs, dOs, q0, T_);
  // delta_i = dO_i . o_i, one warp per query row, lanes over d.
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, nwarps = blockDim.x / kWarp;
  for (int r = warp; r < nq; r += nwarps) {
    const int64_t ri = base + static_cast<int64_t>(q0 + r) * D;
    float part = 0.f;
    for (int d = lane; d < D; d += kWarp) part += to_f(dout[ri + d]) * to_f(o[ri + d]);
    part = warp_sum(part);
    if (lane == 0) {
      delta_s[r] = part;
      lse_s[r] = lse[bh * T_ + q0 + r];
    }
  }
  __syncthreads();
  const int j = tile0 + static_cast<int>(threadIdx.x);
  if (j >= T_) return;  // no barrier follows
  float kr[D], vr[D], dkr[D], dvr[D];
#pragma unroll
  for (int d = 0; d < D; ++d) {
    kr[d] = to_f(k[base + static_cast<int64_t>(j) * D + d]);
    vr[d] = to_f(v[base + static_cast<int64_t>(j) * D + d]);
    dkr[d] = 0.f;
    dvr[d] = 0.f;
  }
  for (int i = causal ? j : 0; i < T_; ++i) {
    const int r = i - q0;
    const float* qi = Qs + r * D;
    const float* doi = dOs + r * D;
    const float pij = exp_acc<T>(scale * dot_smem<D>(kr, qi) - lse_s[r]);
    const float ds = pij * (dot_smem<D>(vr, doi) - delta_s[r]);
#pragma unroll
    for (int d = 0; d < D; ++d) {
      dvr[d] += pij * doi[d];
      dkr[d] += ds * qi[d];
    }
  }
#pragma unroll
  for (int d = 0; d < D; ++d) {
    dk[base + static_cast<int64_t>(j) * D + d] = scale * dkr[d];
    dv[base + static_cast<int64_t>(j) * D + d] = dvr[d];
  }
}

// dQ: one thread per query i of the tile; K and V of the visible keys in shared memory.
template <class T, int D>
__global__ void __launch_bounds__(kSmemRows) smem_dq_kernel(const T* __restrict__ q, const T* __restrict__ k,
                                                            const T* __restrict__ v, const T* __restrict__ o,
                                                            const T* __restrict__ dout, const float* __restrict__ lse,
                                                            T* __restrict__ dq, int T_, float scale, bool causal) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const int64_t bh = blockIdx.x;
  const int tile0 = blockIdx.y * kSmemRows;
  const int kmax = causal ? min(T_, tile0 + kSmemRows) : T_;
  const int64_t base = bh * T_ * D;
  float* Ks = smem;
  float* Vs = smem + kmax * D;
  stage2<T, D>(k + base, v + base, Ks, Vs, 0, kmax);
  __syncthreads();
  const int i = tile0 + static_cast<int>(threadIdx.x);
  if (i >= T_) return;  // no barrier follows
  const int64_t ri = base + static_cast<int64_t>(i) * D;
  float qr[D], dor[D], dqr[D];
  float delta = 0.f;
#pragma unroll
  for (int d = 0; d < D; ++d) {
    qr[d] = to_f(q[ri + d]);
    dor[d] = to_f(dout[ri + d]);
    delta += dor[d] * to_f(o[ri + d]);
    dqr[d] = 0.f;
  }
  const float lse_i = lse[bh * T_ + i];
  const int nk = causal ? i + 1 : T_;
  for (int j = 0; j < nk; ++j) {
    const float* kj = Ks + j * D;
    const float pij = exp_acc<T>(scale * dot_smem<D>(qr, kj) - lse_i);
    const float ds = pij * (dot_smem<D>(dor, Vs + j * D) - delta);
#pragma unroll
    for (int d = 0; d < D; ++d) dqr[d] += ds * kj[d];
  }
#pragma unroll
  for (int d = 0; d < D; ++d) dq[ri + d] = from_f<T>(scale * dqr[d]);
}

const char* last_error() {
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? nullptr : cudaGetErrorString(err);
}

// Opts the kernel in to `bytes` of dynamic shared memory when above the 48 KB default.
template <class K>
const char* allow_smem(K kernel, size_t bytes) {
  if (bytes <= 48 * 1024) return nullptr;
  const cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
  return err == cudaSuccess ? nullptr : cudaGetErrorString(err);
}

template <class T, int D>
const char* smem_forward(const CudaFwd& p, cudaStream_t stream) {
  const int T_ = static_cast<int>(p.T_);
  const size_t bytes = 2 * static_cast<size_t>(T_) * D * sizeof(float);
  if (const char* e = allow_smem(smem_forward_kernel<T, D>, bytes)) return e;
  const dim3 grid(static_cast<unsigned>(p.B * p.H), static_cast<unsigned>((T_ + kSmemRows - 1) / kSmemRows));
  smem_forward_kernel<T, D><<<grid, kSmemRows, bytes, stream>>>(
      static_cast<const T*>(p.q), static_cast<const T*>(p.k), static_cast<const T*>(p.v), static_cast<T*>(p.o),
      p.lse, T_, p.scale, p.causal);
  return last_error();
}

template <class T, int D>
const char* smem_backward(const CudaBwd& p, cudaStream_t stream) {
  const int T_ = static_cast<int>(p.T_);
  const dim3 grid(static_cast<unsigned>(p.B * p.H), static_cast<unsigned>((T_ + kSmemRows - 1) / kSmemRows));
  const size_t bytes_kv = 2 * static_cast<size_t>(T_) * (D + 1) * sizeof(float);
  if (const char* e = allow_smem(smem_dkdv_kernel<T, D>, bytes_kv)) return e;
  smem_dkdv_kernel<T, D><<<grid, kSmemRows, bytes_kv, stream>>>(
      static_cast<const T*>(p.q), static_cast<const T*>(p.k), static_cast<const T*>(p.v),
      static_cast<const T*>(p.o), static_cast<const T*>(p.dout), p.lse, p.dk_acc, p.dv_acc, T_, p.scale, p.causal);
  if (const char* e = last_error()) return e;
  const size_t bytes_q = 2 * static_cast<size_t>(T_) * D * sizeof(float);
  if (const char* e = allow_smem(smem_dq_kernel<T, D>, bytes_q)) return e;
  smem_dq_kernel<T, D><<<grid, kSmemRows, bytes_q, stream>>>(
      static_cast<const T*>(p.q), static_cast<const T*>(p.k), static_cast<const T*>(p.v),
      static_cast<const T*>(p.o), static_cast<const T*>(p.dout), p.lse, static_cast<T*>(p.dq), T_, p.scale,
      p.causal);
  return last_error();
}

template <class T>
const char* smem_forward_by_d(const CudaFwd& p, cudaStream_t s) {
  switch (p.D) {
    case 16: return smem_forward<T, 16>(p, s);
    case 32: return smem_forward<T, 32>(p, s);
    case 64: return smem_forward<T, 64>(p, s);
    default: return kNotHandled;
  }
}

// D = 64 backward would hold 4 x 64 floats per thread in dK/dV and spill; it takes the fallback.
template <class T>
const char* smem_backward_by_d(const CudaBwd& p, cudaStream_t s) {
  switch (p.D) {
    case 16: return smem_backward<T, 16>(p, s);
    case 32: return smem_backward<T, 32>(p, s);
    default: return kNotHandled;
  }
}

}  // namespace

const char* forward_cuda(const CudaFwd& p, void* stream) {
  if (p.D > kWarp * kMaxPerLane) return "head dimension D above 256 is not supported on CUDA";
  auto s = static_cast<cudaStream_t>(stream);
  if (p.T_ <= kSmemMaxT && p.B * p.H <= 0x7fffffff) {
    const char* e = kNotHandled;
    switch (p.dtype) {
      case Storage::f32: e = smem_forward_by_d<float>(p, s); break;
      case Storage::bf16: e = smem_forward_by_d<__nv_bfloat16>(p, s); break;
      case Storage::f16: e = smem_forward_by_d<__half>(p, s); break;
    }
    if (e != kNotHandled) return e;
  }
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
  if (p.T_ <= kSmemMaxT && p.B * p.H <= 0x7fffffff) {
    const char* e = kNotHandled;
    switch (p.dtype) {
      case Storage::f32: e = smem_backward_by_d<float>(p, s); break;
      case Storage::bf16: e = smem_backward_by_d<__nv_bfloat16>(p, s); break;
      case Storage::f16: e = smem_backward_by_d<__half>(p, s); break;
    }
    if (e != kNotHandled) return e;
  }
  switch (p.dtype) {
    case Storage::f32: return launch_backward<float>(p, s);
    case Storage::bf16: return launch_backward<__nv_bfloat16>(p, s);
    case Storage::f16: return launch_backward<__half>(p, s);
  }
  return "unknown storage type";
}

}  // namespace incontext::attn
