// RoPE on the CPU: see rope.h. The pair loop has no dependencies between pairs, so GCC vectorises it.
#include "rope/rope.h"

namespace incontext::rotary {

template <class T>
void rotate_rows(const Params<T>& p, int64_t begin, int64_t end) {
  const int64_t half = p.D / 2;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t t = r % p.T_, h = (r / p.T_) % p.H, b = r / (p.T_ * p.H);
    const T* __restrict x = p.x + b * p.sb + h * p.sh + t * p.st;
    const T* __restrict c = p.cos + t * p.D;
    const T* __restrict s = p.sin + t * p.D;
    T* __restrict o = p.out + r * p.D;
    if (!p.inverse) {
      for (int64_t j = 0; j < half; ++j) {
        const T x0 = x[2 * j], x1 = x[2 * j + 1];
        o[2 * j] = x0 * c[2 * j] - x1 * s[2 * j];
        o[2 * j + 1] = x1 * c[2 * j + 1] + x0 * s[2 * j + 1];
      }
    } else {
      for (int64_t j = 0; j < half; ++j) {
        const T x0 = x[2 * j], x1 = x[2 * j + 1];
        o[2 * j] = x0 * c[2 * j] + x1 * s[2 * j + 1];
        o[2 * j + 1] = x1 * c[2 * j + 1] - x0 * s[2 * j];
      }
    }
  }
}

template void rotate_rows<float>(const Params<float>&, int64_t, int64_t);
template void rotate_rows<double>(const Params<double>&, int64_t, int64_t);

}  // namespace incontext::rotary
