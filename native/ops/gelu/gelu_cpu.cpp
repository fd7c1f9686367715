// GELU (tanh approximation) on the CPU; gelu.h documents the formula and the accuracy.
//
// The body is written once with GCC's vector extensions and compiled for 4 lanes (baseline x86-64), 8 (AVX2+FMA) and
// 16 (AVX-512); the widest build the CPU runs is chosen once (cpu_isa.h). A tail shorter than a vector goes through a
// zero-padded vector, so every build computes every element with the same arithmetic.
#include <cstring>

#include "cpu_isa.h"
#include "gelu/gelu.h"

namespace incontext::gelu {
namespace {

typedef float V4 __attribute__((vector_size(16)));
typedef float V8 __attribute__((vector_size(32)));
typedef float V16 __attribute__((vector_size(64)));
typedef int I4 __attribute__((vector_size(16)));
typedef int I8 __attribute__((vector_size(32)));
typedef int I16 __attribute__((vector_size(64)));

template <class V> struct Ints;
template <> struct Ints<V4> { using type = I4; };
template <> struct Ints<V8> { using type = I8; };
template <> struct Ints<V16> { using type = I16; };

template <class V>
constexpr int lanes() {
  return static_cast<int>(sizeof(V) / sizeof(float));
}

// d(2u)/dx = kA + 3 kB x^2 with 2u = x (kA + kB x^2): kA = 2 sqrt(2/pi), kB = 2 sqrt(2/pi) 0.044715.
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr float kA = static_cast<float>(2 * kSqrt2OverPi);
constexpr float kB = static_cast<float>(2 * kSqrt2OverPi * 0.044715);

// exp(z) for z clamped to [-87, 88] (the float32 normal range of 2^n): z = n ln2 + r with |r| <= ln2 / 2, n from the
// round-to-nearest of z / ln2 (adding 1.5 * 2^23 leaves n in the low mantissa bits), ln 2 split in two so n ln2 is
// exact enough, and exp(r) by a degree-6 minimax polynomial (the classic single-precision coefficients).
template <class V>
inline V exp_clamped(V z) {
  using I = typename Ints<V>::type;
  const V lo = V{} - 87.0f, hi = V{} + 88.0f, magic = V{} + 12582912.0f;
  z = z < lo ? lo : z;
  z = z > hi ? hi : z;
  const V t = z * 1.44269504088896341f + magic;
  const V n = t - magic;
  V r = z - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const V p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
                1.6666665459e-1f) * r + 5.0000001201e-1f) * (r * r) + r + 1.0f;
  const I e = (I)t - (I)magic;  // a cast between same-size vector types keeps the bits
  const I bits = (e + 127) << 23;
  return p * (V)bits;
}

// With z = 2u: for z < -87 gelu is below 2e-36 in magnitude and its derivative below 1e-35, and for z > 87 the
// derivative is 1 to within 1e-36: those ends are set exactly (0, and 1 for the derivative), which also keeps x^2 and
// the exponential from overflowing into inf * 0 for huge |x|; NaN fails both comparisons and stays NaN.
template <class V>
inline V gelu_v(V x) {
  const V z = x * (kA + kB * (x * x));
  return z < -87.0f ? V{} : x / (1.0f + exp_clamped<V>(-z));
}

template <class V>
inline V gelu_grad_v(V dy, V x) {
  const V x2 = x * x;
  const V z = x * (kA + kB * x2);
  const V e = exp_clamped<V>(-z);
  const V s = 1.0f / (1.0f + e);  // 1 - s = e s, without the cancellation of 1 - s where s is near 1
  const V d = s + x * s * (e * s) * (kA + (3.0f * kB) * x2);
  return dy * (z < -87.0f ? V{} : z > 87.0f ? V{} + 1.0f : d);
}

// Storage: float32, or bfloat16 as its 16 bits (the upper half of a float32). bfloat16 is widened exactly (a shift),
// computed in float32 and rounded once to nearest even; a NaN stays a (quiet) NaN.
typedef unsigned U4 __attribute__((vector_size(16)));
typedef unsigned U8 __attribute__((vector_size(32)));
typedef unsigned U16 __attribute__((vector_size(64)));
typedef unsigned short H4 __attribute__((vector_size(8)));
typedef unsigned short H8 __attribute__((vector_size(16)));
typedef unsigned short H16 __attribute__((vector_size(32)));

template <class V> struct Half;
template <> struct Half<V4> { using u = U4; using h = H4; };
template <> struct Half<V8> { using u = U8; using h = H8; };
template <> struct Half<V16> { using u = U16; using h = H16; };

template <class V>
inline V load(const float* p, int64_t n) {
  V v = V{};
  std::memcpy(&v, p, sizeof(float) * n);
  return v;
}

template <class V>
inline V load(const uint16_t* p, int64_t n) {
  using U = typename Half<V>::u;
  using H = typename Half<V>::h;
  H h = H{};
  std::memcpy(&h, p, sizeof(uint16_t) * n);
  return (V)(__builtin_convertvector(h, U) << 16);
}

template <class V>
inline void store(float* p, V v, int64_t n) {
  std::memcpy(p, &v, sizeof(float) * n);
}

template <class V>
inline void store(uint16_t* p, V v, int64_t n) {
  using U = typename Half<V>::u;
  using H = typename Half<V>::h;
  const U u = (U)v;
  const U rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const U nan = (U)(v != v);
  const H h = __builtin_convertvector((rounded & ~nan) | (((u >> 16) | 0x40u) & nan), H);
  std::memcpy(p, &h, sizeof(uint16_t) * n);
}

template <class V, class S>
void forward_impl(const S* x, S* y, int64_t begin, int64_t end) {
  constexpr int L = lanes<V>();
  int64_t i = begin;
  for (; i + L <= end; i += L) store<V>(y + i, gelu_v<V>(load<V>(x + i, L)), L);
  if (i < end) store<V>(y + i, gelu_v<V>(load<V>(x + i, end - i)), end - i);
}

template <class V, class S>
void backward_impl(const S* dy, const S* x, S* dx, int64_t begin, int64_t end) {
  constexpr int L = lanes<V>();
  int64_t i = begin;
  for (; i + L <= end; i += L) store<V>(dx + i, gelu_grad_v<V>(load<V>(dy + i, L), load<V>(x + i, L)), L);
  if (i < end) store<V>(dx + i, gelu_grad_v<V>(load<V>(dy + i, end - i), load<V>(x + i, end - i)), end - i);
}

template <class S>
__attribute__((target("avx512f,avx512vl,avx512dq"), flatten)) void forward_avx512(const S* x, S* y,
                                                                                           int64_t b, int64_t e) {
  forward_impl<V16>(x, y, b, e);
}
template <class S>
__attribute__((target("avx2,fma"), flatten)) void forward_avx2(const S* x, S* y, int64_t b, int64_t e) {
  forward_impl<V8>(x, y, b, e);
}
template <class S>
__attribute__((flatten)) void forward_portable(const S* x, S* y, int64_t b, int64_t e) {
  forward_impl<V4>(x, y, b, e);
}
template <class S>
__attribute__((target("avx512f,avx512vl,avx512dq"), flatten)) void backward_avx512(const S* dy, const S* x,
                                                                                            S* dx, int64_t b,
                                                                                            int64_t e) {
  backward_impl<V16>(dy, x, dx, b, e);
}
template <class S>
__attribute__((target("avx2,fma"), flatten)) void backward_avx2(const S* dy, const S* x, S* dx, int64_t b, int64_t e) {
  backward_impl<V8>(dy, x, dx, b, e);
}
template <class S>
__attribute__((flatten)) void backward_portable(const S* dy, const S* x, S* dx, int64_t b, int64_t e) {
  backward_impl<V4>(dy, x, dx, b, e);
}

using cpu::Isa;

Isa isa() {
  static const Isa chosen = cpu::widest(/*need_bw=*/false);
  return chosen;
}

template <class S>
void forward_any(const S* x, S* y, int64_t begin, int64_t end) {
  switch (isa()) {
    case Isa::avx512: forward_avx512(x, y, begin, end); return;
    case Isa::avx2: forward_avx2(x, y, begin, end); return;
    case Isa::portable: forward_portable(x, y, begin, end); return;
  }
}

template <class S>
void backward_any(const S* dy, const S* x, S* dx, int64_t begin, int64_t end) {
  switch (isa()) {
    case Isa::avx512: backward_avx512(dy, x, dx, begin, end); return;
    case Isa::avx2: backward_avx2(dy, x, dx, begin, end); return;
    case Isa::portable: backward_portable(dy, x, dx, begin, end); return;
  }
}

}  // namespace

void forward(const float* x, float* y, int64_t begin, int64_t end) { forward_any(x, y, begin, end); }
void forward(const uint16_t* x, uint16_t* y, int64_t begin, int64_t end) { forward_any(x, y, begin, end); }
void backward(const float* dy, const float* x, float* dx, int64_t begin, int64_t end) {
  backward_any(dy, x, dx, begin, end);
}
void backward(const uint16_t* dy, const uint16_t* x, uint16_t* dx, int64_t begin, int64_t end) {
  backward_any(dy, x, dx, begin, end);
}

const char* isa_name() { return cpu::name(isa()); }

}  // namespace incontext::gelu
