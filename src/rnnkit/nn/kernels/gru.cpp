// Fused GRU time loops for rnnkit.nn.bptt.gru: one GEMM and one pass over the gates
// per step, in C++. Same quantities as the Python loop (rnnkit/nn/bptt/gru.py), with
// tanh(a) = 2σ(2a) - 1 and torch's placement of r inside n; the weights come unscaled
// (the Python loop doubles the n rows instead, so its saved v_n is doubled).
//
//   forward, per step:   v = h_{t-1} W_hh^T + b_hh                      (B, 3H)
//                        r = σ(u_r + v_r);  z = σ(u_z + v_z);  n = 2σ(2(u_n + r v_n)) - 1
//                        h_t = n + z (h_{t-1} - n);   U[t] <- (r, z, n),  V[t] <- v
//   backward, per step:  k = (1-z)(1-n²)
//                        dv = dh [k v_n r(1-r),  (h_{t-1} - n) z(1-z),  k r]
//                        du_n = dh k;   dh_{t-1} = dy_{t-1} + dh z + dv W_hh
#include <torch/library.h>

#include "common.h"
#include "vmath.h"

namespace rnnkit_kernels {

template <typename T>
void gru_forward_rows(T* u, const T* v, const T* hp, T* y, int64_t nb, int64_t H) {
  for (int64_t r = 0; r < nb; ++r) {
    T* ur = u + r * 3 * H;
    const T* vr = v + r * 3 * H;
    const T* hr = hp + r * H;
    T* yr = y + r * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T rg = sigm(ur[j] + vr[j]);
      const T z = sigm(ur[H + j] + vr[H + j]);
      const T n = T(2) * sigm(T(2) * (ur[2 * H + j] + rg * vr[2 * H + j])) - T(1);
      ur[j] = rg;
      ur[H + j] = z;
      ur[2 * H + j] = n;
      yr[j] = n + z * (hr[j] - n);
    }
  }
}

template <typename T>
void gru_backward_rows(const T* u, const T* v, const T* hp, const T* dyp, T* dh, T* dv, T* dun,
                       int64_t nb, int64_t H) {
  for (int64_t r = 0; r < nb; ++r) {
    const T* ur = u + r * 3 * H;
    const T* vr = v + r * 3 * H;
    const T* hr = hp + r * H;
    const T* dyr = dyp ? dyp + r * H : nullptr;
    T* dhr = dh + r * H;
    T* dvr = dv + r * 3 * H;
    T* dur = dun + r * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const T rg = ur[j], z = ur[H + j], n = ur[2 * H + j];
      const T d = dhr[j];
      const T k = (T(1) - z) * (T(1) - n * n);
      dvr[j] = d * k * vr[2 * H + j] * rg * (T(1) - rg);
      dvr[H + j] = d * (hr[j] - n) * z * (T(1) - z);
      dvr[2 * H + j] = d * k * rg;
      dur[j] = d * k;
      dhr[j] = (dyr ? dyr[j] : T(0)) + d * z;
    }
  }
}

// U (T, B, 3H): u_t = W_ih x_t + b_ih, overwritten with (r, z, n).
// h0 (B, H); w_hh_t (H, 3H) = W_hh^T; b_hh (3H,) or None.
// Returns y (T, B, H) and, when save, V (T, B, 3H) = v_t.
std::vector<Tensor> gru_forward(Tensor U, const Tensor& h0, const Tensor& w_hh_t,
                                const std::optional<Tensor>& b_hh, const std::optional<Tensor>& packed,
                                bool reverse, bool save) {
  check(U, "U");
  check(h0, "h0");
  check_transposed(w_hh_t, "w_hh_t");
  const int64_t T = U.size(0), B = U.size(1), H = U.size(2) / 3;
  Tensor y = at::empty({T, B, H}, U.options());
  Tensor V = save ? at::empty({T, B, 3 * H}, U.options()) : Tensor();
  const Tensor bias = given(b_hh) ? b_hh->contiguous() : Tensor();
  AT_DISPATCH_FLOATING_TYPES(U.scalar_type(), "rnnkit_gru_forward", [&] {
    scalar_t* Up = U.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    scalar_t* Vp = save ? V.data_ptr<scalar_t>() : nullptr;
    const scalar_t* h0p = h0.data_ptr<scalar_t>();
    const scalar_t* W = w_hh_t.data_ptr<scalar_t>();  // W_hh (3H, H) row-major
    const scalar_t* bp = bias.defined() ? bias.data_ptr<scalar_t>() : nullptr;
    over_row_blocks(B, T, 3 * H * H, [&](int64_t r0, int64_t r1) {
      const int64_t nb = r1 - r0;
      Tensor scratch = save ? Tensor() : at::empty({nb, 3 * H}, U.options());
      for (int64_t k = 0; k < T; ++k) {
        const int64_t t = reverse ? T - 1 - k : k;
        const int64_t tp = reverse ? t + 1 : t - 1;
        const scalar_t* hp = (k == 0 ? h0p : yp + tp * B * H) + r0 * H;               // (nb, H)
        scalar_t* v = save ? Vp + (t * B + r0) * 3 * H : scratch.data_ptr<scalar_t>();  // (nb, 3H)
        Tensor v_t;
        if (given(packed)) {  // oneDNN with the packed weight (large weights)
          v_t = onednn_linear((k == 0 ? h0 : y[tp]).narrow(0, r0, nb), *packed, b_hh);
          if (save) {
            std::copy(v_t.data_ptr<scalar_t>(), v_t.data_ptr<scalar_t>() + nb * 3 * H, v);
          } else {
            v = v_t.data_ptr<scalar_t>();
          }
        } else {
          for (int64_t r = 0; r < nb; ++r) {  // v = b_hh, then += h_{t-1} W_hh^T
            if (bp) std::copy(bp, bp + 3 * H, v + r * 3 * H);
            else std::fill(v + r * 3 * H, v + (r + 1) * 3 * H, scalar_t(0));
          }
          gemm_xwt<scalar_t>(nb, 3 * H, H, hp, H, W, scalar_t(1), v, 3 * H);
        }
        gru_forward_rows<scalar_t>(Up + (t * B + r0) * 3 * H, v, hp, yp + (t * B + r0) * H, nb, H);
      }
    });
  });
  return {y, save ? V : Tensor()};
}

// Saved U (r, z, n) and V from gru_forward(save=true), y (T, B, H), h0; dy (T, B, H),
// dh_n (B, H); w_hh (3H, H). Returns dV (T, B, 3H), du_n (T, B, H) and dh0.
std::vector<Tensor> gru_backward(const Tensor& U, const Tensor& V, const Tensor& y, const Tensor& h0,
                                 const Tensor& dy, const Tensor& dh_n, const Tensor& w_hh, bool reverse) {
  check(U, "U");
  check(V, "V");
  check(y, "y");
  check(h0, "h0");
  check(dy, "dy");
  check(w_hh, "w_hh");
  const int64_t T = U.size(0), B = U.size(1), H = U.size(2) / 3;
  Tensor dV = at::empty_like(U);
  Tensor dUn = at::empty({T, B, H}, U.options());
  const int64_t last = reverse ? 0 : T - 1;
  Tensor dh = (dy[last] + dh_n).contiguous();  // (B, H), then dh0
  AT_DISPATCH_FLOATING_TYPES(U.scalar_type(), "rnnkit_gru_backward", [&] {
    const scalar_t* Up = U.data_ptr<scalar_t>();
    const scalar_t* Vp = V.data_ptr<scalar_t>();
    const scalar_t* yp = y.data_ptr<scalar_t>();
    const scalar_t* h0p = h0.data_ptr<scalar_t>();
    const scalar_t* dyp = dy.data_ptr<scalar_t>();
    scalar_t* dVp = dV.data_ptr<scalar_t>();
    scalar_t* dUp = dUn.data_ptr<scalar_t>();
    const scalar_t* W = w_hh.data_ptr<scalar_t>();  // (3H, H)
    over_row_blocks(B, T, 3 * H * H, [&](int64_t r0, int64_t r1) {
      const int64_t nb = r1 - r0;
      scalar_t* d = dh.data_ptr<scalar_t>() + r0 * H;  // (nb, H)
      for (int64_t k = T - 1; k >= 0; --k) {
        const int64_t t = reverse ? T - 1 - k : k;
        const int64_t tp = reverse ? t + 1 : t - 1;
        const scalar_t* hp = (k == 0 ? h0p : yp + tp * B * H) + r0 * H;
        scalar_t* dv = dVp + (t * B + r0) * 3 * H;
        gru_backward_rows<scalar_t>(Up + (t * B + r0) * 3 * H, Vp + (t * B + r0) * 3 * H, hp,
                                    k == 0 ? nullptr : dyp + (tp * B + r0) * H, d, dv,
                                    dUp + (t * B + r0) * H, nb, H);
        gemm_xw<scalar_t>(nb, H, 3 * H, dv, 3 * H, W, scalar_t(1), d, H);  // dh_{t-1} = dy + dh z + dv W_hh
      }
    });
  });
  return {dV, dUn, dh};
}

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("gru_forward(Tensor U, Tensor h0, Tensor w_hh_t, Tensor? b_hh, Tensor? packed, bool reverse, bool save) -> Tensor[]",
        &gru_forward);
  m.def("gru_backward(Tensor U, Tensor V, Tensor y, Tensor h0, Tensor dy, Tensor dh_n, Tensor w_hh, bool reverse) -> Tensor[]",
        &gru_backward);
}

}  // namespace rnnkit_kernels
