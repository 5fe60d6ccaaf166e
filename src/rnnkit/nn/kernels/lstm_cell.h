// The LSTM cell's pointwise math on one row segment of n units, shared by the batch-row
// split (lstm.cpp forward_rows / backward_rows) and the hidden-unit split (lstm_units.h).
//
// Layout of one row: gate q (i, f, g, o = 0..3) of unit j at [q·H + j] (row stride 4H);
// the doubled cell c2 = 2c, tanh c and the output at [j] (row stride H). The equations
// are lstm.cpp's (its header): i, f, o = σ(a); g2 = 4σ(2a_g) - 2 (= 2 tanh a_g);
// c2_t = f c2_{t-1} + i g2; tc = 2σ(c2_t) - 1 (= tanh c_t); h_t = o tc.
#pragma once

#include <cstdint>

#include "vmath.h"

namespace rnnkit_kernels {

// Forward. pre(q, j): the pre-activation of gate q at unit j (the caller's layout); gt
// receives the activations when SAVE (may be null otherwise), tr the tanh of the cell.
template <typename T, bool SAVE, typename Pre>
inline void cell_forward(Pre pre, T* gt, const T* cp, T* cr, T* tr, T* yr, int64_t n, int64_t H) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const T i = sigm(pre(0, j));
    const T f = sigm(pre(1, j));
    const T g2 = T(4) * sigm(T(2) * pre(2, j)) - T(2);
    const T o = sigm(pre(3, j));
    if constexpr (SAVE) {
      gt[j] = i;
      gt[H + j] = f;
      gt[2 * H + j] = g2;
      gt[3 * H + j] = o;
    }
    const T c2 = f * cp[j] + i * g2;
    const T th = T(2) * sigm(c2) - T(1);
    cr[j] = c2;
    if constexpr (SAVE) tr[j] = th;
    yr[j] = o * th;
  }
}

// Backward: from the saved activations gt, c_prev, tanh-cell tr and dh = d, writes the
// gates' gradients dg and replaces dcr (the carried cell gradient, halved) by f·dc.
template <typename T>
inline void cell_backward(const T* gt, const T* cp, const T* tr, const T* d, T* dcr, T* dg, int64_t n,
                          int64_t H) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const T i = gt[j], f = gt[H + j], g2 = gt[2 * H + j], o = gt[3 * H + j];
    const T th = tr[j];
    const T dc = dcr[j] + T(0.5) * d[j] * o * (T(1) - th * th);
    dg[j] = dc * g2 * i * (T(1) - i);
    dg[H + j] = dc * cp[j] * f * (T(1) - f);
    dg[2 * H + j] = dc * (T(2) - T(0.5) * g2 * g2) * i;
    dg[3 * H + j] = d[j] * th * o * (T(1) - o);
    dcr[j] = dc * f;
  }
}

}  // namespace rnnkit_kernels
