// GELU with the tanh approximation on the CPU, the kernel: plain C++, no torch types.
//
//   gelu(x)  = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)     (torch.gelu(x, approximate="tanh"))
//            = x s,                  s = sigmoid(2u) = 1 / (1 + exp(-2u))
//   gelu'(x) = s + x s (1 - s) 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)
//
// The sigmoid form needs one exponential and one division per element, and it has no cancellation where tanh(u) is
// near -1 (libtorch's 1 + tanh(u) rounds to 0 there; this gives the tiny true value); 1 - s is taken as e s with
// e = exp(-2u). The exponential is a degree-6 polynomial after range reduction by ln 2 (relative error about 1e-7).
// Where 2u < -87 the value and the derivative are set to 0, and where 2u > 87 the derivative to 1 (each off by less
// than 1e-35), so huge inputs give no inf * 0: NaN stays NaN, +inf gives +inf, -inf gives 0. One read and one write
// per element forward, two reads and one write backward (the input is recomputed, not stored). Built for baseline
// x86-64, AVX2+FMA and AVX-512, chosen at run time (INCONTEXT_CPU_ISA=portable|avx2 caps the choice, as for the other
// kernels).
#pragma once

#include <cstdint>

namespace incontext::gelu {

// y[i] = gelu(x[i]) for i in [begin, end). float32, or bfloat16 given as its 16 bits (widened exactly, computed in
// float32, rounded once to nearest even).
void forward(const float* x, float* y, int64_t begin, int64_t end);
void forward(const uint16_t* x, uint16_t* y, int64_t begin, int64_t end);

// dx[i] = dy[i] * gelu'(x[i]) for i in [begin, end); float32 or bfloat16 as above.
void backward(const float* dy, const float* x, float* dx, int64_t begin, int64_t end);
void backward(const uint16_t* dy, const uint16_t* x, uint16_t* dx, int64_t begin, int64_t end);

// The build in use: "avx512", "avx2" or "portable".
const char* isa_name();

}  // namespace incontext::gelu
