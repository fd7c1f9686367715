// All-prefix least squares and ridge on CUDA: one thread block (one warp) per prompt, all prefixes in one pass.
//
// Algorithm: the same recursion as the CPU fast path (prefix_lstsq_fast.cpp).
//   lambda = 0: A_k = C_k U_k with U_k orthonormal rows (Gram-Schmidt with one re-orthogonalisation; a residual
//   below 16 max(k+1, d) eps max_i ||x_i|| is dropped, as pinv drops small singular values) and C_k = Q_k R_k
//   kept by Givens row updates; w_k = U_k^T R_k^{-1} z_k.
//   lambda > 0: QR-RLS, R_0 = sqrt(lambda) I, Givens row updates of (R, z) with the raw rows.
// Shapes: x, q, weights (B, n, d); y, pred (B, n); lambda (B) float64 on the device. Grid = B blocks of 32 threads;
// the d x d matrices U and R live in shared memory ((2 d^2 + 10 d) elements of T), vectors are strided over the
// warp. The Givens sweep and the back substitution are sequential in the slot index (2 barriers per slot), so a
// prompt costs O(n d) barriers and O(n d^2 / 32) arithmetic per thread: latency-bound, as every batched small
// solve is; B >= a few hundred prompts fill an H100.
// Precision: state and arithmetic in T (float32 or float64). Expected error against the float64 reference:
// ~1e-12 (float64), ~1e-5 relative (float32) on well-conditioned prompts.
// Status: compiled in CI for sm_90; not yet run on a GPU (no GPU on the development machines).
#include <cuda_runtime.h>

#include <cstdint>

#include "prefix_lstsq/prefix_lstsq.h"

namespace incontext::lstsq {

namespace {

constexpr int kThreads = 32;  // one warp per prompt: __syncthreads is a warp barrier, reductions are shuffles

template <class T>
struct Eps;
template <>
struct Eps<float> {
  static constexpr float value = 1.1920929e-07f;
};
template <>
struct Eps<double> {
  static constexpr double value = 2.220446049250313e-16;
};

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = kThreads / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <class T>
__global__ void __launch_bounds__(kThreads) prefix_lstsq_kernel(FwdParams<T> p) {
  extern __shared__ unsigned char smem_raw[];
  T* smem = reinterpret_cast<T*>(smem_raw);
  const int64_t n = p.n;
  const int d = static_cast<int>(p.d);
  T* U = smem;            // d x d, row j = basis vector j
  T* R = U + d * d;       // d x d, upper triangular
  T* z = R + d * d;       // d
  T* row = z + d;         // d
  T* c = row + d;         // d
  T* e = c + d;           // d: Gram-Schmidt residual, also the back-substitution scratch
  T* v = e + d;           // d
  T* w = v + d;           // d
  T* a = w + d;           // d
  T* qv = a + d;          // d
  __shared__ T s_rhs, s_scale;
  __shared__ int s_rank;

  const int64_t b = blockIdx.x;
  const int tid = threadIdx.x;
  const double lambda = p.lambda[b];
  const bool ridge = lambda > 0.0;
  const T* xb = p.x + b * n * d;
  const T* qb = (p.q ? p.q : p.x) + b * n * d;
  const T* yb = p.y + b * n;

  for (int i = tid; i < d * d; i += kThreads) {
    U[i] = T(0);
    R[i] = (ridge && i / d == i % d) ? static_cast<T>(sqrt(lambda)) : T(0);
  }
  for (int i = tid; i < d; i += kThreads) z[i] = T(0);
  if (tid == 0) {
    s_rank = ridge ? d : 0;
    s_scale = T(0);
  }
  __syncthreads();

  for (int64_t k = 0; k < n; ++k) {
    const int r = s_rank;
    // ---- prediction at query k: v = R^{-1} z (column-oriented back substitution), w = U^T v ----
    for (int i = tid; i < d; i += kThreads) {
      e[i] = z[i];
      v[i] = T(0);
    }
    __syncthreads();
    for (int j = r - 1; j >= 0; --j) {
      const T rjj = R[j * d + j];
      const T vj = rjj != T(0) ? e[j] / rjj : T(0);
      for (int l = tid; l < j; l += kThreads) e[l] -= R[l * d + j] * vj;
      if (tid == 0) v[j] = vj;
      __syncthreads();
    }
    T part = T(0);
    for (int i = tid; i < d; i += kThreads) {
      T wi;
      if (ridge) {
        wi = v[i];
      } else {
        wi = T(0);
        for (int j = 0; j < r; ++j) wi += v[j] * U[j * d + i];
      }
      w[i] = wi;
      part += wi * qb[k * d + i];
      if (p.w) p.w[(b * n + k) * d + i] = wi;
    }
    part = warp_sum(part);
    if (tid == 0) p.pred[b * n + k] = part;
    if (k == n - 1) break;

    // ---- add point k ----
    for (int i = tid; i < d; i += kThreads) a[i] = xb[k * d + i];
    if (tid == 0) s_rhs = yb[k];
    __syncthreads();
    int m = r;
    if (ridge) {
      for (int i = tid; i < d; i += kThreads) row[i] = a[i];
    } else {
      for (int j = tid; j < d; j += kThreads) {
        T s = T(0);
        if (j < r)
          for (int i = 0; i < d; ++i) s += U[j * d + i] * a[i];
        c[j] = s;
      }
      __syncthreads();
      if (r < d) {
        for (int i = tid; i < d; i += kThreads) {
          T s = a[i];
          for (int j = 0; j < r; ++j) s -= c[j] * U[j * d + i];
          e[i] = s;
        }
        __syncthreads();
        for (int j = tid; j < r; j += kThreads) {  // re-orthogonalise
          T s = T(0);
          for (int i = 0; i < d; ++i) s += U[j * d + i] * e[i];
          row[j] = s;
        }
        __syncthreads();
        T rho2 = T(0), a2 = T(0);
        for (int i = tid; i < d; i += kThreads) {
          T s = e[i];
          for (int j = 0; j < r; ++j) s -= row[j] * U[j * d + i];
          e[i] = s;
          rho2 += s * s;
          a2 += a[i] * a[i];
        }
        for (int j = tid; j < r; j += kThreads) c[j] += row[j];
        rho2 = warp_sum(rho2);
        a2 = warp_sum(a2);
        __syncthreads();
        const T scale = fmax(s_scale, sqrt(a2));
        const T rho = sqrt(rho2);
        const T kk = static_cast<T>(k + 1 > d ? k + 1 : d);
        const bool grow = rho > T(16) * kk * Eps<T>::value * scale;
        if (grow) {
          for (int i = tid; i < d; i += kThreads) U[r * d + i] = e[i] / rho;
          m = r + 1;
        }
        __syncthreads();  // every thread has read s_scale before it changes
        if (tid == 0) {
          s_scale = scale;
          if (grow) {
            c[r] = rho;
            s_rank = r + 1;
          }
        }
        __syncthreads();
      }
      for (int j = tid; j < m; j += kThreads) row[j] = c[j];
    }
    __syncthreads();

    // ---- Givens rotations of (row, rhs) into (R, z) over the first m slots ----
    for (int j = 0; j < m; ++j) {
      const T rjj = R[j * d + j], xj = row[j];
      const T h = sqrt(rjj * rjj + xj * xj);
      const T cs = h > T(0) ? rjj / h : T(1);
      const T sn = h > T(0) ? xj / h : T(0);
      T zj = T(0), t0 = T(0);
      if (tid == 0) {
        zj = z[j];
        t0 = s_rhs;
      }
      __syncthreads();  // all threads have read R[j][j] and row[j]
      for (int col = j + tid; col < m; col += kThreads) {
        const T r0 = R[j * d + col], x0 = row[col];
        R[j * d + col] = cs * r0 + sn * x0;
        row[col] = cs * x0 - sn * r0;
      }
      if (tid == 0) {
        z[j] = cs * zj + sn * t0;
        s_rhs = cs * t0 - sn * zj;
      }
      __syncthreads();
    }
  }
}

template <class T>
size_t shared_bytes(int64_t d) {
  return static_cast<size_t>(2 * d * d + 10 * d) * sizeof(T);
}

}  // namespace

template <class T>
const char* forward_cuda(const FwdParams<T>& p, void* stream) {
  if (p.B == 0) return nullptr;
  const size_t smem = shared_bytes<T>(p.d);
  int device = 0, optin = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess) err = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (err != cudaSuccess) return cudaGetErrorString(err);
  // Static shared memory (three scalars) also counts against the limit.
  if (smem + 64 > static_cast<size_t>(optin))
    return "the dimension d is too large for the CUDA kernel (its two d x d matrices must fit in shared memory)";
  if (smem > 48 * 1024) {
    err = cudaFuncSetAttribute(prefix_lstsq_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(smem));
    if (err != cudaSuccess) return cudaGetErrorString(err);
  }
  if (p.B > 0x7fffffffLL) return "too many prompts for one CUDA launch (B > 2^31 - 1)";
  prefix_lstsq_kernel<T><<<static_cast<unsigned>(p.B), kThreads, smem, static_cast<cudaStream_t>(stream)>>>(p);
  err = cudaGetLastError();
  return err == cudaSuccess ? nullptr : cudaGetErrorString(err);
}

template const char* forward_cuda<float>(const FwdParams<float>&, void*);
template const char* forward_cuda<double>(const FwdParams<double>&, void*);

}  // namespace incontext::lstsq
