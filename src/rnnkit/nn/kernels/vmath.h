// Elementwise math for the fused kernels, written so that GCC vectorises it (AVX-512
// on this CPU). glibc's expf is a scalar call inside a loop; exp_f below is a few
// FMAs per lane and keeps the loops vectorised.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace rnnkit_kernels {

// Forced inline: a loop that calls exp_f out of line stays scalar, and GCC's inlining
// budget gives up on it in functions with several sigmoids (seen in perf as exp_f
// samples of its own).
#define RNNKIT_INLINE inline __attribute__((always_inline))

// e^x in float: x = n ln2 + r with |r| <= ln2/2, e^r by its degree-6 Taylor polynomial
// (relative error below 2e-7, about one float ulp), 2^n written into the exponent bits.
// Inputs are clamped to [-87, 88] so 2^n stays a normal float; NaN passes through.
RNNKIT_INLINE float exp_f(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // Round x·log2(e) to the nearest integer by adding 1.5·2^23: the sum's low mantissa
  // bits then hold n.
  const float shifted = x * 1.44269504088896341f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;  // ln2 split in two for accuracy
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const uint32_t bits = (std::bit_cast<uint32_t>(shifted) + 127u) << 23;  // 2^n
  return p * std::bit_cast<float>(bits);
}

// σ(x) = 1 / (1 + e^-x). float64 (the tests' precision) uses the library exp.
RNNKIT_INLINE float sigm(float x) { return 1.0f / (1.0f + exp_f(-x)); }
RNNKIT_INLINE double sigm(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace rnnkit_kernels
