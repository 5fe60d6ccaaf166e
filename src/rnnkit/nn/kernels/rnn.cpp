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

// h = act(a + b) over nb rows of H (b: the (H,) bias b_hh, or null).
// y = act(a + b) over nb rows of H. The bias goes in row by row, then the activation runs
// over all nb·H values as one flat loop: with H below the vector width (the tutorial's
// H = 10) a per-row loop would be all scalar remainder, about 4 ns per sigmoid.
template <typename T>
void rnn_forward_rows(const T* a, const T* b, T* y, int64_t nb, int64_t H, bool tanh) {
  for (int64_t r = 0; r < nb; ++r) {
    const T* ar = a + r * H;
    T* yr = y + r * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) yr[j] = ar[j] + (b ? b[j] : T(0));
  }
  const int64_t n = nb * H;
  if (tanh) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = T(2) * sigm(T(2) * y[i]) - T(1);
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
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

// A (T, B, H): W_ih x_t + b_ih, used as scratch. h0 (B, H); w_hh_t (H, H) = W_hh^T; b_hh (H,)
// or None, added in the elementwise pass. Returns y (T, B, H) and h_n (B, H).
std::vector<Tensor> rnn_forward(Tensor A, const Tensor& h0, const Tensor& w_hh_t, const std::optional<Tensor>& b_hh,
                                const std::optional<Tensor>& packed, bool tanh, bool reverse) {
  check(A, "A");
  check(h0, "h0");
  check_transposed(w_hh_t, "w_hh_t");
  const int64_t T = A.size(0), B = A.size(1), H = A.size(2);
  Tensor y = at::empty({T, B, H}, A.options());
  const Tensor bias = given(b_hh) ? b_hh->contiguous() : Tensor();
  AT_DISPATCH_FLOATING_TYPES(A.scalar_type(), "rnnkit_rnn_forward", [&] {
    scalar_t* Ap = A.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    const scalar_t* h0p = h0.data_ptr<scalar_t>();
    const scalar_t* W = w_hh_t.data_ptr<scalar_t>();  // W_hh (H, H) row-major
    const scalar_t* bp = bias.defined() ? bias.data_ptr<scalar_t>() : nullptr;
    over_row_blocks(B, T, H * H, [&](int64_t r0, int64_t r1) {
      const int64_t nb = r1 - r0;
      for (int64_t k = 0; k < T; ++k) {
        const int64_t t = reverse ? T - 1 - k : k;
        const int64_t tp = reverse ? t + 1 : t - 1;
        scalar_t* a = Ap + (t * B + r0) * H;                              // (nb, H)
        const scalar_t* hp = (k == 0 ? h0p : yp + tp * B * H) + r0 * H;  // (nb, H)
        const scalar_t* pre = a;
        Tensor pre_t;
        if (given(packed)) {  // oneDNN with the packed weight (large weights)
          pre_t = onednn_add((k == 0 ? h0 : y[tp]).narrow(0, r0, nb), A[t].narrow(0, r0, nb), *packed);
          pre = pre_t.data_ptr<scalar_t>();
        } else {
          gemm_xwt<scalar_t>(nb, H, H, hp, H, W, scalar_t(1), a, H);  // a += h_{t-1} W_hh^T
        }
        rnn_forward_rows<scalar_t>(pre, bp, yp + (t * B + r0) * H, nb, H, tanh);
      }
    });
  });
  return {y, y[reverse ? 0 : T - 1].clone()};
}

// y (T, B, H) from rnn_forward; dy (T, B, H), dh_n (B, H); w_hh (H, H).
// Returns dA (T, B, H), the gradient of the pre-activations, and dh0.
std::vector<Tensor> rnn_backward(const Tensor& y, const Tensor& dy, const Tensor& dh_n, const Tensor& w_hh,
                                 const std::optional<Tensor>& packed, bool tanh, bool reverse) {
  check(y, "y");
  check(dy, "dy");
  check(w_hh, "w_hh");
  const int64_t T = y.size(0), B = y.size(1), H = y.size(2);
  Tensor dA = at::empty_like(y);
  const int64_t last = reverse ? 0 : T - 1;
  Tensor dh = (dy[last] + dh_n).contiguous();
  AT_DISPATCH_FLOATING_TYPES(y.scalar_type(), "rnnkit_rnn_backward", [&] {
    const scalar_t* yp = y.data_ptr<scalar_t>();
    const scalar_t* dyp = dy.data_ptr<scalar_t>();
    scalar_t* dAp = dA.data_ptr<scalar_t>();
    const scalar_t* W = w_hh.data_ptr<scalar_t>();  // (H, H)
    over_row_blocks(B, T, H * H, [&](int64_t r0, int64_t r1) {
      const int64_t nb = r1 - r0;
      Tensor d = dh.narrow(0, r0, nb);
      scalar_t* dp = d.data_ptr<scalar_t>();
      for (int64_t k = T - 1; k >= 0; --k) {
        const int64_t t = reverse ? T - 1 - k : k;
        const int64_t tp = reverse ? t + 1 : t - 1;
        scalar_t* da = dAp + (t * B + r0) * H;
        rnn_backward_rows<scalar_t>(yp + (t * B + r0) * H, dp, k == 0 ? nullptr : dyp + (tp * B + r0) * H,
                                    da, dp, nb * H, tanh);
        if (given(packed)) {
          d.copy_(onednn_add(dA[t].narrow(0, r0, nb), d, *packed));
        } else {
          gemm_xw<scalar_t>(nb, H, H, da, H, W, scalar_t(1), dp, H);  // dh_{t-1} = dy_{t-1} + da W_hh
        }
      }
    });
  });
  return {dA, dh};
}

// Test hook: route the kernels' GEMMs through BLAS (true) or ATen; returns the old setting.
bool set_use_blas(bool on) {
  const bool old = use_blas();
  use_blas() = on;
  return old;
}

// Test hook: the largest N·K the per-step GEMMs compute with their own loops; returns the old one.
int64_t set_small_gemm(int64_t limit) {
  const int64_t old = small_gemm_limit();
  small_gemm_limit() = limit;
  return old;
}

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("_use_blas(bool on) -> bool", &set_use_blas);
  m.def("_small_gemm(int limit) -> int", &set_small_gemm);
  m.def("rnn_forward(Tensor A, Tensor h0, Tensor w_hh_t, Tensor? b_hh, Tensor? packed, bool tanh, bool reverse) -> Tensor[]",
        &rnn_forward);
  m.def("rnn_backward(Tensor y, Tensor dy, Tensor dh_n, Tensor w_hh, Tensor? packed, bool tanh, bool reverse) -> Tensor[]",
        &rnn_backward);
}

}  // namespace rnnkit_kernels
