// Fused Elman RNN time loops for rnnkit.nn.bptt.rnn: one GEMM and one elementwise pass
// per step, in C++. Same quantities as the Python loop (rnnkit/nn/bptt/rnn.py), with
// tanh(a) = 2σ(2a) - 1; the weights come unscaled (the Python loop doubles them instead).
//
//   forward, per step:   a = A[t] + h_{t-1} W_hh^T;   h_t = 2σ(2a) - 1   or   max(a, 0)
//   backward, per step:  da = dh (1 - h_t²)  or  dh [h_t > 0];   dh_{t-1} = dy_{t-1} + da W_hh
#include <torch/library.h>

#include "common.h"
#include "vmath.h"

namespace rnnkit_kernels {

template <typename T>
void rnn_forward_rows(const T* a, T* y, int64_t n, bool tanh) {
  if (tanh) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) y[j] = T(2) * sigm(T(2) * a[j]) - T(1);
  } else {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) y[j] = a[j] > T(0) ? a[j] : T(0);
  }
}

template <typename T>
void rnn_backward_rows(const T* y, const T* dh, const T* dyp, T* da, T* dnext, int64_t n, bool tanh) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const T d = tanh ? dh[j] * (T(1) - y[j] * y[j]) : (y[j] > T(0) ? dh[j] : T(0));
    da[j] = d;
    dnext[j] = dyp ? dyp[j] : T(0);
  }
}

// A (T, B, H): W_ih x_t + b_ih + b_hh, used as scratch. h0 (B, H); w_hh_t (H, H) = W_hh^T.
std::vector<Tensor> rnn_forward(Tensor A, const Tensor& h0, const Tensor& w_hh_t,
                                const std::optional<Tensor>& packed, bool tanh, bool reverse) {
  check(A, "A");
  check(h0, "h0");
  const int64_t T = A.size(0), B = A.size(1), H = A.size(2);
  Tensor y = at::empty({T, B, H}, A.options());
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "rnnkit_rnn_forward", [&] {
    over_row_blocks(B, T, H * H, [&](int64_t r0, int64_t r1) {
      const int64_t nb = r1 - r0;
      for (int64_t k = 0; k < T; ++k) {
        const int64_t t = reverse ? T - 1 - k : k;
        const int64_t tp = reverse ? t + 1 : t - 1;
        Tensor a = A[t].narrow(0, r0, nb);
        const Tensor hp = (k == 0 ? h0 : y[tp]).narrow(0, r0, nb);
        Tensor pre = given(packed) ? onednn_add(hp, a, *packed) : at::addmm_out(a, a, hp, w_hh_t);
        rnn_forward_rows<scalar_t>(pre.data_ptr<scalar_t>(), y[t].data_ptr<scalar_t>() + r0 * H, nb * H, tanh);
      }
    });
  });
  return {y};
}

// y (T, B, H) from rnn_forward; dy (T, B, H), dh_n (B, H); w_hh (H, H).
// Returns dA (T, B, H), the gradient of the pre-activations, and dh0.
std::vector<Tensor> rnn_backward(const Tensor& y, const Tensor& dy, const Tensor& dh_n, const Tensor& w_hh,
                                 const std::optional<Tensor>& packed, bool tanh, bool reverse) {
  check(y, "y");
  check(dy, "dy");
  const int64_t T = y.size(0), B = y.size(1), H = y.size(2);
  Tensor dA = at::empty_like(y);
  const int64_t last = reverse ? 0 : T - 1;
  Tensor dh = (dy[last] + dh_n).contiguous();
  AT_DISPATCH_FLOATING_TYPES(y.scalar_type(), "rnnkit_rnn_backward", [&] {
    over_row_blocks(B, T, H * H, [&](int64_t r0, int64_t r1) {
      const int64_t nb = r1 - r0;
      Tensor d = dh.narrow(0, r0, nb);
      for (int64_t k = T - 1; k >= 0; --k) {
        const int64_t t = reverse ? T - 1 - k : k;
        const int64_t tp = reverse ? t + 1 : t - 1;
        Tensor da = dA[t].narrow(0, r0, nb);
        scalar_t* dp = d.data_ptr<scalar_t>();
        rnn_backward_rows<scalar_t>(y[t].data_ptr<scalar_t>() + r0 * H, dp,
                                    k == 0 ? nullptr : dy[tp].data_ptr<scalar_t>() + r0 * H,
                                    da.data_ptr<scalar_t>(), dp, nb * H, tanh);
        if (given(packed)) {
          d.copy_(onednn_add(da, d, *packed));
        } else {
          at::addmm_out(d, d, da, w_hh);  // dh_{t-1} = dy_{t-1} + da W_hh
        }
      }
    });
  });
  return {dA, dh};
}

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("rnn_forward(Tensor A, Tensor h0, Tensor w_hh_t, Tensor? packed, bool tanh, bool reverse) -> Tensor[]",
        &rnn_forward);
  m.def("rnn_backward(Tensor y, Tensor dy, Tensor dh_n, Tensor w_hh, Tensor? packed, bool tanh, bool reverse) -> Tensor[]",
        &rnn_backward);
}

}  // namespace rnnkit_kernels
