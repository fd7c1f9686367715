// Seeded random generators on any device, for sampling on the device itself (the JavaCPP presets can create
// CPU generators only).
#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Generator.h>

namespace incontext {

// A fresh generator for `device` ("cpu", "cuda", "cuda:N") seeded with `seed`. Fails with a clear message for
// CUDA when this build has no CUDA.
at::Generator make_generator(const std::string& device, uint64_t seed);

}  // namespace incontext
