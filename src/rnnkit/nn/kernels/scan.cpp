// Fused MinGRU / MinLSTM recurrences for rnnkit.nn.minimal.scan.MinRecurrence: the gate
// activations, the scan h_t = a_t h_{t∓1} + z_t h̃_t and its backward in one pass over
// time each, in place of about twenty full-size elementwise ops.
//
// Same quantities and layout as the Python path in rnnkit/nn/minimal/scan.py (see its
// docstrings for the equations). proj (T, B, G·H) holds the pre-activations, G = 2
// (p_z, p_h) or G = 3 (p_f, p_i, p_h), less an optional bias (G·H) that is added here
// (so a GEMM writing proj need not); mask is empty or (T, B) with 1 on real steps and 0
// on padded ones, where the state is held (a = 1, z = 0).
//
//   forward:   a, z = gates(p),  h̃ = g(p_h),  h_t = a h_{t∓1} + z h̃
//   backward:  walking time the other way, with the carry c (c = 0 at the far end):
//              γ = dh_t + c                       the total gradient of h_t
//              dA = γ (h_{t∓1} - h̃)              ∂L/∂a
//              dp_z = -dA a z                       (MinGRU)
//              dp_f = dA a z σ(-p_f), dp_i = -dA a z σ(-p_i)   (MinLSTM)
//              dp_h = γ z g'(p_h),   c <- a γ;    dh0 = the final c
//
// The B·H channels are independent: each thread takes a block of them and walks all
// T steps, vectorised along H. Nothing but h is saved: the backward recomputes the
// gates from proj, which costs less than storing and re-reading them.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <optional>

#include "pool.h"
#include "scan_math.h"

namespace rnnkit_kernels::min_rnn {
namespace {

using at::Tensor;

constexpr int64_t kUnit = 16;  // channels per unit of parallel work (one AVX-512 float vector)

// A thread's share of the channels: units [u0, u1) of the (B, ⌈H/kUnit⌉) grid, as the
// row pieces [j0, j1) of rows r0 … r1 - 1.
struct Share {
  int64_t r0, r1, first_j0, last_j1;
  Share(int64_t u0, int64_t u1, int64_t H) {
    const int64_t nb = (H + kUnit - 1) / kUnit;
    r0 = u0 / nb;
    r1 = (u1 - 1) / nb + 1;
    first_j0 = (u0 % nb) * kUnit;
    last_j1 = std::min(H, ((u1 - 1) % nb + 1) * kUnit);
  }
  int64_t j0(int64_t r) const { return r == r0 ? first_j0 : 0; }
  int64_t j1(int64_t r, int64_t H) const { return r == r1 - 1 ? last_j1 : H; }
};

template <typename T, int G>
inline void forward_piece(const T* p, const T* bias, const T* hp, T* h, int64_t H, int64_t j0, int64_t j1) {
#pragma omp simd
  for (int64_t j = j0; j < j1; ++j) {
    T a, z;
    if constexpr (G == 2) {
      const GruGate<T> gate(p[j] + bias[j]);
      a = gate.a, z = gate.z;
    } else {
      const LstmGate<T> gate(p[j] + bias[j], p[H + j] + bias[H + j]);
      a = gate.a, z = gate.z;
    }
    const Candidate<T> cand(p[(G - 1) * H + j] + bias[(G - 1) * H + j]);
    h[j] = a * hp[j] + z * cand.g;
  }
}

template <typename T, int G>
inline void backward_piece(const T* p, const T* bias, const T* hp, const T* dh, T* carry, T* dp, T* dsum,
                           int64_t H, int64_t j0, int64_t j1) {
#pragma omp simd
  for (int64_t j = j0; j < j1; ++j) {
    const T gamma = dh[j] + carry[j];
    const Candidate<T> cand(p[(G - 1) * H + j] + bias[(G - 1) * H + j]);
    const T dA = gamma * (hp[j] - cand.g);
    T a, z;
    if constexpr (G == 2) {
      const GruGate<T> gate(p[j] + bias[j]);
      a = gate.a, z = gate.z;
      const T dpz = -dA * a * z;
      dp[j] = dpz;
      dsum[j] += dpz;
    } else {
      const LstmGate<T> gate(p[j] + bias[j], p[H + j] + bias[H + j]);
      a = gate.a, z = gate.z;
      const T ds = dA * a * z;
      const T dpf = ds * gate.sf, dpi = -ds * gate.si;
      dp[j] = dpf;
      dp[H + j] = dpi;
      dsum[j] += dpf;
      dsum[H + j] += dpi;
    }
    const T dph = gamma * z * cand.slope;
    dp[(G - 1) * H + j] = dph;
    dsum[(G - 1) * H + j] += dph;
    carry[j] = a * gamma;
  }
}

template <typename T>
inline void zero_piece(T* dp, int64_t H, int64_t j0, int64_t j1, int G) {
  for (int k = 0; k < G; ++k)
    for (int64_t j = j0; j < j1; ++j) dp[k * H + j] = T(0);
}

// Units of kUnit channels per parallel task: at least about 32k elements of work each.
inline int64_t unit_grain(int64_t T) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, kUnit * T)); }

template <typename T, int G>
void forward_all(const T* proj, const T* bias, const T* h0, const T* mask, T* h, int64_t steps, int64_t B,
                 int64_t H, bool reverse) {
  const int64_t units = B * ((H + kUnit - 1) / kUnit);
  at::parallel_for(0, units, unit_grain(steps), [&](int64_t u0, int64_t u1) {
    const Share s(u0, u1, H);
    for (int64_t k = 0; k < steps; ++k) {
      const int64_t t = reverse ? steps - 1 - k : k;
      const int64_t tp = reverse ? t + 1 : t - 1;
      for (int64_t r = s.r0; r < s.r1; ++r) {
        const int64_t j0 = s.j0(r), j1 = s.j1(r, H);
        const T* hp = k == 0 ? h0 + r * H : h + (tp * B + r) * H;
        T* hr = h + (t * B + r) * H;
        if (mask != nullptr && mask[t * B + r] == T(0)) {  // padded: hold the state
          std::copy(hp + j0, hp + j1, hr + j0);
          continue;
        }
        forward_piece<T, G>(proj + (t * B + r) * G * H, bias, hp, hr, H, j0, j1);
      }
    }
  });
}

template <typename T, int G>
void backward_all(const T* proj, const T* bias, const T* h0, const T* mask, const T* h, const T* dh,
                  T* dproj, T* carry, T* dsum, int64_t steps, int64_t B, int64_t H, bool reverse) {
  const int64_t units = B * ((H + kUnit - 1) / kUnit);
  at::parallel_for(0, units, unit_grain(steps), [&](int64_t u0, int64_t u1) {
    const Share s(u0, u1, H);
    for (int64_t k = steps - 1; k >= 0; --k) {
      const int64_t t = reverse ? steps - 1 - k : k;
      const int64_t tp = reverse ? t + 1 : t - 1;
      for (int64_t r = s.r0; r < s.r1; ++r) {
        const int64_t j0 = s.j0(r), j1 = s.j1(r, H);
        const T* dhr = dh + (t * B + r) * H;
        T* cr = carry + r * H;
        T* dp = dproj + (t * B + r) * G * H;
        if (mask != nullptr && mask[t * B + r] == T(0)) {  // padded: a = 1, no gradient to proj
          for (int64_t j = j0; j < j1; ++j) cr[j] += dhr[j];
          zero_piece(dp, H, j0, j1, G);
          continue;
        }
        const T* hp = k == 0 ? h0 + r * H : h + (tp * B + r) * H;
        backward_piece<T, G>(proj + (t * B + r) * G * H, bias, hp, dhr, cr, dp, dsum + r * G * H, H, j0, j1);
      }
    }
  });
}

void check(const Tensor& t, const char* name, const Tensor& like) {
  TORCH_CHECK(t.device().is_cpu() && t.is_contiguous(), "rnnkit min_scan kernel: ", name,
              " must be a contiguous CPU tensor");
  TORCH_CHECK(t.scalar_type() == like.scalar_type(), "rnnkit min_scan kernel: ", name, " has dtype ",
              t.scalar_type(), ", expected ", like.scalar_type());
}

// Shapes: proj (T, B, G·H), h0 (B, H), mask (T, B) or undefined, bias (G·H) or
// undefined. Returns G.
int check_all(const Tensor& proj, const Tensor& h0, const std::optional<Tensor>& mask,
              const std::optional<Tensor>& bias) {
  check(proj, "proj", proj);
  check(h0, "h0", proj);
  TORCH_CHECK(proj.dim() == 3 && h0.dim() == 2 && h0.size(0) == proj.size(1) && h0.size(1) > 0,
              "rnnkit min_scan kernel: proj must be (T, B, G*H) and h0 (B, H)");
  const int64_t G = proj.size(2) / h0.size(1);
  TORCH_CHECK((G == 2 || G == 3) && proj.size(2) == G * h0.size(1),
              "rnnkit min_scan kernel: proj.size(2) must be 2H (MinGRU) or 3H (MinLSTM), got ", proj.size(2),
              " with H = ", h0.size(1));
  if (mask.has_value() && mask->defined()) {
    check(*mask, "mask", proj);
    TORCH_CHECK(mask->dim() == 2 && mask->size(0) == proj.size(0) && mask->size(1) == proj.size(1),
                "rnnkit min_scan kernel: mask must be (T, B)");
  }
  if (bias.has_value() && bias->defined()) {
    check(*bias, "bias", proj);
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == proj.size(2), "rnnkit min_scan kernel: bias must be (G*H)");
  }
  return static_cast<int>(G);
}

template <typename T>
const T* data_or_null(const std::optional<Tensor>& t) {
  return t.has_value() && t->defined() ? t->data_ptr<T>() : nullptr;
}

// The bias added to proj inside the kernel, or zeros.
Tensor bias_or_zeros(const std::optional<Tensor>& bias, const Tensor& proj) {
  return bias.has_value() && bias->defined() ? *bias : at::zeros({proj.size(2)}, proj.options());
}

// An uninitialised tensor of the given size and like's dtype; large ones come from the
// shared pool (pool.h), which recycles them between calls and puts the largest on huge pages.
Tensor huge_empty(at::IntArrayRef size, const Tensor& like) {
  return rnnkit_kernels::pooled_empty(size, like.options());
}

// h (T, B, H) of the MinGRU (G = 2) or MinLSTM (G = 3) recurrence, with pre-activations
// proj + bias.
Tensor min_scan_forward(const Tensor& proj, const Tensor& h0, const std::optional<Tensor>& mask, bool reverse,
                        const std::optional<Tensor>& bias) {
  const int G = check_all(proj, h0, mask, bias);
  const int64_t T = proj.size(0), B = proj.size(1), H = h0.size(1);
  Tensor h = huge_empty({T, B, H}, proj);
  const Tensor b = bias_or_zeros(bias, proj);
  AT_DISPATCH_FLOATING_TYPES(proj.scalar_type(), "rnnkit_min_scan_forward", [&] {
    auto run = G == 2 ? forward_all<scalar_t, 2> : forward_all<scalar_t, 3>;
    run(proj.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(), data_or_null<scalar_t>(mask),
        h.data_ptr<scalar_t>(), T, B, H, reverse);
  });
  return h;
}

// dproj (T, B, G·H), dh0 (B, H) and dproj summed over time (B, G·H), the bias
// gradient's partial sums, from dh (T, B, H) and the forward's h.
std::vector<Tensor> min_scan_backward(const Tensor& proj, const Tensor& h0, const std::optional<Tensor>& mask,
                                      const Tensor& h, const Tensor& dh, bool reverse,
                                      const std::optional<Tensor>& bias) {
  const int G = check_all(proj, h0, mask, bias);
  check(h, "h", proj);
  check(dh, "dh", proj);
  const int64_t T = proj.size(0), B = proj.size(1), H = h0.size(1);
  TORCH_CHECK(h.sizes() == dh.sizes() && h.dim() == 3 && h.size(0) == T && h.size(1) == B && h.size(2) == H,
              "rnnkit min_scan kernel: h and dh must be (T, B, H)");
  Tensor dproj = huge_empty(proj.sizes(), proj);
  Tensor dh0 = at::zeros_like(h0);  // the carry; after the last step, ∂L/∂h0
  Tensor dsum = at::zeros({B, proj.size(2)}, proj.options());
  const Tensor b = bias_or_zeros(bias, proj);
  AT_DISPATCH_FLOATING_TYPES(proj.scalar_type(), "rnnkit_min_scan_backward", [&] {
    auto run = G == 2 ? backward_all<scalar_t, 2> : backward_all<scalar_t, 3>;
    run(proj.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(), data_or_null<scalar_t>(mask),
        h.data_ptr<scalar_t>(), dh.data_ptr<scalar_t>(), dproj.data_ptr<scalar_t>(), dh0.data_ptr<scalar_t>(),
        dsum.data_ptr<scalar_t>(), T, B, H, reverse);
  });
  return {dproj, dh0, dsum};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("min_scan_forward(Tensor proj, Tensor h0, Tensor? mask, bool reverse, Tensor? bias=None) -> Tensor",
        &min_scan_forward);
  m.def("min_scan_empty(int[] size, Tensor like) -> Tensor", &huge_empty);
  m.def("min_scan_backward(Tensor proj, Tensor h0, Tensor? mask, Tensor h, Tensor dh, bool reverse, "
        "Tensor? bias=None) -> Tensor[]",
        &min_scan_backward);
}

}  // namespace rnnkit_kernels::min_rnn
