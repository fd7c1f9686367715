// Device generators: CPU here; CUDA in generator_cuda.cpp (CUDA builds only).
#include "incontext/generator.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/Device.h>

#include "checks.h"

namespace incontext {

#ifdef INCONTEXT_WITH_CUDA
at::Generator make_cuda_generator(c10::DeviceIndex index, uint64_t seed);
#endif

at::Generator make_generator(const std::string& device, uint64_t seed) {
  const c10::Device d(device);
  if (d.is_cpu()) return at::make_generator<at::CPUGeneratorImpl>(seed);
#ifdef INCONTEXT_WITH_CUDA
  if (d.is_cuda()) return make_cuda_generator(d.has_index() ? d.index() : 0, seed);
#endif
  detail::fail("make_generator", "no generator for device '" + device + "' in this build (" +
                                     (d.is_cuda() ? "built without CUDA" : "unsupported device type") + ")");
}

}  // namespace incontext
