// Rotary position embedding (RoPE) on the CPU, the kernel: plain C++, no torch types.
//
// x is (B, H, T, D) with D even and any strides on the first three dims (unit stride on the last); cos and sin are
// (T, D) tables in the interleaved-pairs convention (coordinates 2j and 2j + 1 of position t share the angle
// t * base^(-2j / D); the tables repeat each value twice). out is (B, H, T, D) contiguous:
//   forward:  out[2j]   = x[2j] cos[2j]     - x[2j+1] sin[2j]
//             out[2j+1] = x[2j+1] cos[2j+1] + x[2j] sin[2j+1]
//   inverse (the transpose, i.e. the gradient of forward): the same with the sin terms' signs swapped and
//   their indices exchanged, out[2j] = x[2j] cos[2j] + x[2j+1] sin[2j+1], out[2j+1] = x[2j+1] cos[2j+1] - x[2j] sin[2j].
// One read of x and one write of out per element: the rotation costs a memory pass, where composing it from
// tensor ops (select, neg, stack, two products and a sum, each with its backward) costs about ten.
#pragma once

#include <cstdint>

namespace incontext::rotary {

template <class T>
struct Params {
  const T* x;
  int64_t sb, sh, st;  // strides of x's first three dims, in elements
  const T* cos;
  const T* sin;
  T* out;
  int64_t B, H, T_, D;
  bool inverse;
};

// Rows r in [begin, end) of the B * H * T rows of length D.
template <class T>
void rotate_rows(const Params<T>& p, int64_t begin, int64_t end);

}  // namespace incontext::rotary
