// CUDA generators (built only with CUDA): a fresh Philox generator per call, seeded, on the given device.
#include <ATen/cuda/CUDAGeneratorImpl.h>

#include "incontext/generator.h"

namespace incontext {

at::Generator make_cuda_generator(c10::DeviceIndex index, uint64_t seed) {
  at::Generator g = at::make_generator<at::CUDAGeneratorImpl>(index);
  g.set_current_seed(seed);
  return g;
}

}  // namespace incontext
