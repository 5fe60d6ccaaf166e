// Fused LSTM time loops for rnnkit.nn.bptt.lstm: one GEMM and one pass over the gates
// per step, in C++ so that the loop pays no Python or per-op dispatch cost.
//
// Same saved quantities as the Python loop in rnnkit/nn/bptt/lstm.py (see its
// docstring for the equations): tanh(a) = 2σ(2a) - 1, and the cell runs on c2 = 2c.
// The weights come unscaled (the Python loop doubles the g rows instead). Threads take
// blocks of batch rows (common.h), or, for plain LSTMs where the rule says so, blocks of
// the hidden units (lstm_units.h).
//
//   forward, per step:   a = G[t] + h_{t-1} W_hh^T                 (B, 4H)
//                        i, f, o = σ(a_i, a_f, a_o);  g2 = 4σ(2a_g) - 2   (= 2 tanh)
//                        c2_t = f c2_{t-1} + i g2;   tc = 2σ(c2_t) - 1   (= tanh c_t)
//                        h_t = o tc;   G[t] <- (i, f, g2, o)
//   backward, per step:  dc2 += dh o (1 - tc²) / 2
//                        da_i = dc2 g2 i(1-i)     da_f = dc2 c2_{t-1} f(1-f)
//                        da_g = dc2 (2 - g2²/2) i da_o = dh tc o(1-o)
//                        dc2 <- dc2 f;  dh_{t-1} = dy_{t-1} + da W_hh
#include <torch/library.h>

#include "common.h"
#include "lstm_cell.h"
#include "lstm_units.h"
#include "vmath.h"

namespace rnnkit_kernels {

// forward_rows for H below the vector width (the tutorial's H = 10), where a per-row
// loop would be all scalar remainder: the sigmoids run as two flat loops over the whole
// block, σ over all (nb, 4H) pre-activations (the g quarter doubled first, for σ(2a_g))
// and tanh c = 2σ(c2) - 1 over all (nb, H) cells, and only cheap arithmetic stays per
// row. Same formulas, so the same numbers. pre is overwritten.
template <typename T, bool SAVE>
void forward_rows_flat(T* pre, T* gates, const T* cprev, T* c, T* tc, T* y, int64_t nb, int64_t H) {
  for (int64_t r = 0; r < nb; ++r) {
    T* ag = pre + r * 4 * H + 2 * H;
    for (int64_t j = 0; j < H; ++j) ag[j] *= T(2);
  }
  const int64_t n4 = nb * 4 * H, n = nb * H;
#pragma omp simd
  for (int64_t k = 0; k < n4; ++k) pre[k] = sigm(pre[k]);
  for (int64_t r = 0; r < nb; ++r) {
    const T* s = pre + r * 4 * H;
    T* gt = SAVE ? gates + r * 4 * H : nullptr;
    const T* cp = cprev + r * H;
    T* cr = c + r * H;
    for (int64_t j = 0; j < H; ++j) {
      const T i = s[j], f = s[H + j], g2 = T(4) * s[2 * H + j] - T(2);
      if constexpr (SAVE) {
        gt[j] = i;
        gt[H + j] = f;
        gt[2 * H + j] = g2;
        gt[3 * H + j] = s[3 * H + j];
      }
      cr[j] = f * cp[j] + i * g2;
    }
  }
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) y[k] = T(2) * sigm(c[k]) - T(1);  // tanh c, then times o
  for (int64_t r = 0; r < nb; ++r) {
    const T* o = pre + r * 4 * H + 3 * H;
    T* yr = y + r * H;
    for (int64_t j = 0; j < H; ++j) {
      if constexpr (SAVE) tc[r * H + j] = yr[j];
      yr[j] *= o[j];
    }
  }
}

// SAVE: write the activations back over the gates for backward (skipped in inference).
// pre is scratch: the small-H route overwrites it.
template <typename T, bool SAVE>
void forward_rows(T* pre, T* gates, const T* cprev, T* c, T* tc, T* y, int64_t r0, int64_t r1,
                  int64_t H) {
  if (H < 16) {
    return forward_rows_flat<T, SAVE>(pre + r0 * 4 * H, SAVE ? gates + r0 * 4 * H : nullptr, cprev + r0 * H,
                                      c + r0 * H, SAVE ? tc + r0 * H : nullptr, y + r0 * H, r1 - r0, H);
  }
  for (int64_t r = r0; r < r1; ++r) {
    const T* a = pre + r * 4 * H;
    T* gt = SAVE ? gates + r * 4 * H : nullptr;  // gates and tc are unused (may be null) without SAVE
    T* tr = SAVE ? tc + r * H : nullptr;
    cell_forward<T, SAVE>([a, H](int q, int64_t j) { return a[q * H + j]; }, gt, cprev + r * H, c + r * H, tr,
                          y + r * H, H, H);
  }
}

template <typename T>
void backward_rows(const T* gates, const T* cprev, const T* tc, const T* dh, T* dc2, T* dgates,
                   int64_t r0, int64_t r1, int64_t H) {
  for (int64_t r = r0; r < r1; ++r) {
    cell_backward<T>(gates + r * 4 * H, cprev + r * H, tc + r * H, dh + r * H, dc2 + r * H, dgates + r * 4 * H, H,
                     H);
  }
}

// Batch sizes of packed input (PackedSequence): rows [:bs[t]] are active at time t, the
// others hold their state. Without them every row is active at every step.
struct Steps {
  const int64_t* bs = nullptr;
  int64_t B = 0;
  int64_t at(int64_t t) const { return bs ? bs[t] : B; }
};

inline Steps steps_of(const std::optional<Tensor>& batch_sizes, int64_t T, int64_t B) {
  Steps s;
  s.B = B;
  if (given(batch_sizes)) {
    TORCH_CHECK(batch_sizes->scalar_type() == at::kLong && batch_sizes->is_contiguous() &&
                    batch_sizes->numel() == T && batch_sizes->device().is_cpu(),
                "batch_sizes: expected a contiguous CPU int64 tensor of T entries");
    s.bs = batch_sizes->data_ptr<int64_t>();
  }
  return s;
}

// G (T, B, 4H): pre-activations without the recurrent term; overwritten with the
// activations (i, f, g2, o) at the active rows. h0 (B, P), c0s (B, H) = 2 c0,
// w_hh_t (P, 4H) = W_hh^T: the transposed view of a contiguous W_hh, or a contiguous
// (P, 4H) copy, which BLAS multiplies faster on some CPUs (gemm.py). P = H, or proj_size with w_hr (P, H): then r_t = o tanh(c_t)
// and h_t = r_t W_hr^T. batch_sizes (T,) int64 for packed input. packed (the oneDNN
// weight) only without batch_sizes and w_hr. Returns y (T, B, P); C (T, B, H) c2 history
// and TC (T, B, H) tanh(c) history when save, else the final c2 (B, H) and an empty
// tensor; R (T, B, H) when save and w_hr, else empty.
// Packed: y, C, TC and R are 0 at inactive rows; a row that joins a reversed sequence
// late (rows [bs[t+1]:bs[t]] at t) starts from h0 and c0s, a row that has ended keeps
// its state.
std::vector<Tensor> lstm_forward(Tensor G, const Tensor& h0, const Tensor& c0s, const Tensor& w_hh_t,
                                 const std::optional<Tensor>& packed, bool reverse, bool save,
                                 const std::optional<Tensor>& batch_sizes, const std::optional<Tensor>& w_hr) {
  check(G, "G");
  check(h0, "h0");
  check(c0s, "c0s");
  const bool w_rows = w_hh_t.is_contiguous();  // W_hh^T stored as (P, 4H) rows
  if (!w_rows) check_transposed(w_hh_t, "w_hh_t");
  const int64_t T = G.size(0), B = G.size(1), H = G.size(2) / 4, P = h0.size(1);
  const bool proj = given(w_hr);
  if (proj) check(*w_hr, "w_hr");
  TORCH_CHECK(proj ? (w_hr->size(0) == P && w_hr->size(1) == H) : P == H, "lstm_forward: h0 / w_hr sizes");
  const Steps steps = steps_of(batch_sizes, T, B);
  const bool holes = steps.bs != nullptr;
  const bool onednn = given(packed);
  TORCH_CHECK(!(onednn && (holes || proj)), "lstm_forward: packed input and projections run on BLAS only");
  auto buf = [&](int64_t width) {
    return holes ? at::zeros({T, B, width}, G.options()) : at::empty({T, B, width}, G.options());
  };
  Tensor y = buf(P);
  Tensor C = save ? buf(H) : c0s.clone();
  Tensor TC = save ? buf(H) : at::empty({B, H}, G.options());
  Tensor R = save && proj ? buf(H) : Tensor();
  const int parts = lstm_unit_parts(B, T, H, at::get_num_threads(), !holes && !proj && !onednn);
  AT_DISPATCH_FLOATING_TYPES(G.scalar_type(), "rnnkit_lstm_forward", [&] {
    scalar_t* Gp = G.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    scalar_t* Cp = C.data_ptr<scalar_t>();
    scalar_t* TCp = TC.data_ptr<scalar_t>();
    scalar_t* Rp = R.defined() ? R.data_ptr<scalar_t>() : nullptr;
    const scalar_t* h0p = h0.data_ptr<scalar_t>();
    const scalar_t* c0p = c0s.data_ptr<scalar_t>();
    // the hidden units split over the threads (lstm_units.h), where the rule picks it
    if (parts > 0 && forward_unit_split<scalar_t>(parts, Gp, yp, Cp, TCp, h0p, c0p, w_hh_t.t(), T, B, H, reverse, save))
      return;
    const scalar_t* W = w_hh_t.data_ptr<scalar_t>();  // W_hh (4H, P), or W_hh^T (P, 4H) if w_rows
    over_row_blocks(B, T, 4 * H * P + (proj ? P * H : 0), [&](int64_t r0, int64_t r1) {
      Tensor scratch = proj && !save ? at::empty({r1 - r0, H}, G.options()) : Tensor();  // r_t
      // W_hh packed for MKL once per call and block (float; whole blocks without holes)
      const PackedWeight pw = onednn || holes || T < kMinPackSteps ? PackedWeight(0, 0, 0, W, false)
                                              : PackedWeight(r1 - r0, 4 * H, P, W, !w_rows);
      // g (rows, 4H) += X (rows, P) W_hh^T, whichever way W_hh is stored
      auto add_hw = [&](int64_t rows, const scalar_t* X, scalar_t* g) {
        if (rows == 0 || pw.gemm<scalar_t>(rows, X, P, scalar_t(1), g, 4 * H)) return;
        if (w_rows) {
          gemm_xw<scalar_t>(rows, 4 * H, P, X, P, W, scalar_t(1), g, 4 * H);
        } else {
          gemm_xwt<scalar_t>(rows, 4 * H, P, X, P, W, scalar_t(1), g, 4 * H);
        }
      };
    const scalar_t* Wr = proj ? w_hr->data_ptr<scalar_t>() : nullptr;  // W_hr (P, H)
      for (int64_t k = 0; k < T; ++k) {
        const int64_t t = reverse ? T - 1 - k : k;
        const int64_t tp = reverse ? t + 1 : t - 1;
        const int64_t re = std::min(r1, steps.at(t));  // active rows of this block: [r0, re)
        if (re <= r0) continue;
        const int64_t nb = re - r0;
        // rows [r0, mid) read the previous step's state, [mid, re) the initial one
        const int64_t mid = k == 0 ? r0 : std::clamp(steps.at(tp), r0, re);
        scalar_t* g = Gp + (t * B + r0) * 4 * H;  // (nb, 4H)
        scalar_t* pre = g;
        Tensor pre_t;
        if (onednn) {  // oneDNN with the packed weight (large weights)
          pre_t = onednn_add((k == 0 ? h0 : y[tp]).narrow(0, r0, nb), G[t].narrow(0, r0, nb), *packed);
          pre = pre_t.data_ptr<scalar_t>();
        } else {  // g += h_{t-1} W_hh^T
          if (mid > r0) add_hw(mid - r0, yp + (tp * B + r0) * P, g);
          add_hw(re - mid, h0p + mid * P, g + (mid - r0) * 4 * H);
        }
        scalar_t* c = (save ? Cp + t * B * H : Cp) + r0 * H;
        scalar_t* tc = (save ? TCp + t * B * H : TCp) + r0 * H;
        scalar_t* yt = yp + (t * B + r0) * P;
        // o tanh(c): straight into y, or into r_t for the projection
        scalar_t* rt = !proj ? yt : (save ? Rp + (t * B + r0) * H : scratch.data_ptr<scalar_t>());
        // the cell state each row reads: the previous step's, or c0s for rows [mid, re)
        const scalar_t* cp = save ? (k == 0 ? c0p : Cp + tp * B * H) + r0 * H : c;
        const scalar_t* cp_new = (save ? c0p : Cp) + mid * H;  // without save: the running state
        for (int part = 0; part < 2; ++part) {
          const int64_t a = part == 0 ? 0 : mid - r0, b = part == 0 ? mid - r0 : nb;
          if (b <= a) continue;
          const scalar_t* cpp = part == 0 ? cp : cp_new;
          if (save) {
            forward_rows<scalar_t, true>(pre + a * 4 * H, g + a * 4 * H, cpp, c + a * H, tc + a * H, rt + a * H, 0,
                                         b - a, H);
          } else {
            forward_rows<scalar_t, false>(pre + a * 4 * H, g + a * 4 * H, cpp, c + a * H, tc + a * H, rt + a * H, 0,
                                          b - a, H);
          }
        }
        if (proj) gemm_xwt<scalar_t>(nb, P, H, rt, H, Wr, scalar_t(0), yt, P);  // h_t = r_t W_hr^T
      }
    });
  });
  return {y, C, save ? TC : Tensor(), R};
}

// Saved G (activations), C, TC (and R) from lstm_forward(save=true); dy (T, B, P); dh_n
// (B, P), dc_n (B, H); w_hh (4H, P), the unscaled weight; w_hr (P, H) or None. Returns
// dG (T, B, 4H) with respect to the unscaled pre-activations, dh0 (B, P), dc0 (B, H)
// and, with w_hr, DH (T, B, P): every dh_t, for dW_hr = sum_t dh_t^T r_t (else empty).
// batch_sizes as in lstm_forward: then a row's gradients pass unchanged through the
// steps where it is inactive (dG and DH are 0 there), dy is read at active rows only,
// and the rows that joined a reversed sequence late take their c_{t-1} from c0s.
std::vector<Tensor> lstm_backward(const Tensor& G, const Tensor& C, const Tensor& TC, const Tensor& c0s,
                                  const Tensor& dy, const Tensor& dh_n, const Tensor& dc_n,
                                  const Tensor& w_hh, const std::optional<Tensor>& packed, bool reverse,
                                  const std::optional<Tensor>& batch_sizes, const std::optional<Tensor>& w_hr) {
  for (auto& p : {std::make_pair(&G, "G"), std::make_pair(&C, "C"), std::make_pair(&TC, "TC"),
                  std::make_pair(&c0s, "c0s"), std::make_pair(&dy, "dy"), std::make_pair(&w_hh, "w_hh")})
    check(*p.first, p.second);
  const int64_t T = G.size(0), B = G.size(1), H = G.size(2) / 4, P = dy.size(2);
  const bool proj = given(w_hr);
  if (proj) check(*w_hr, "w_hr");
  const Steps steps = steps_of(batch_sizes, T, B);
  const bool holes = steps.bs != nullptr;
  const bool onednn = given(packed);
  TORCH_CHECK(!(onednn && (holes || proj)), "lstm_backward: packed input and projections run on BLAS only");
  Tensor dG = holes ? at::zeros_like(G) : at::empty_like(G);
  Tensor DH = proj ? (holes ? at::zeros({T, B, P}, G.options()) : at::empty({T, B, P}, G.options())) : Tensor();
  Tensor dc2 = dc_n.mul(0.5).contiguous();
  const int64_t last = reverse ? 0 : T - 1;
  // (B, P): dh_t, then dh_{t-1}, in place; at the end dh0. Packed: the carried gradient
  // of each row's state, dy added when the row is active.
  Tensor dh_all = holes ? dh_n.clone().contiguous() : (dy[last] + dh_n).contiguous();
  const int parts = lstm_unit_parts(B, T, H, at::get_num_threads(), !holes && !proj && !onednn);
  AT_DISPATCH_FLOATING_TYPES(G.scalar_type(), "rnnkit_lstm_backward", [&] {
    const scalar_t* Gp = G.data_ptr<scalar_t>();
    const scalar_t* Cp = C.data_ptr<scalar_t>();
    const scalar_t* TCp = TC.data_ptr<scalar_t>();
    const scalar_t* c0p = c0s.data_ptr<scalar_t>();
    const scalar_t* dyp = dy.data_ptr<scalar_t>();
    scalar_t* dGp = dG.data_ptr<scalar_t>();
    scalar_t* DHp = proj ? DH.data_ptr<scalar_t>() : nullptr;
    scalar_t* dcp = dc2.data_ptr<scalar_t>();
    if (parts > 0 && backward_unit_split<scalar_t>(parts, Gp, Cp, TCp, c0p, dyp, dGp, dh_all.data_ptr<scalar_t>(), dcp,
                                                   w_hh, T, B, H, reverse))
      return;  // the hidden units split over the threads (lstm_units.h)
    const scalar_t* W = w_hh.data_ptr<scalar_t>();  // (4H, P)
    const scalar_t* Wr = proj ? w_hr->data_ptr<scalar_t>() : nullptr;  // (P, H)
    over_row_blocks(B, T, 4 * H * P + (proj ? P * H : 0), [&](int64_t r0, int64_t r1) {
      const int64_t nb = r1 - r0;
      Tensor out = dh_all.narrow(0, r0, nb);  // (nb, P)
      scalar_t* dh = out.data_ptr<scalar_t>();
      Tensor dr_t = proj ? at::empty({nb, H}, G.options()) : Tensor();
      // W_hh packed for MKL once per call and block (float; whole blocks without holes)
      const PackedWeight pw = onednn || holes || T < kMinPackSteps ? PackedWeight(0, 0, 0, W, false) : PackedWeight(nb, P, 4 * H, W, false);
      scalar_t* dr = proj ? dr_t.data_ptr<scalar_t>() : dh;  // ∂L/∂r_t (nb, H); dh itself without W_hr
      for (int64_t k = T - 1; k >= 0; --k) {
        const int64_t t = reverse ? T - 1 - k : k;
        const int64_t tp = reverse ? t + 1 : t - 1;
        scalar_t* dg = dGp + (t * B + r0) * 4 * H;  // (nb, 4H)
        const int64_t re = holes ? std::min(r1, steps.at(t)) : r1;
        if (re <= r0) continue;
        const int64_t n = re - r0, mid = holes && k > 0 ? std::clamp(steps.at(tp), r0, re) : (k == 0 ? r0 : re);
        if (holes) {
          const scalar_t* dyt = dyp + (t * B + r0) * P;
          for (int64_t j = 0; j < n * P; ++j) dh[j] += dyt[j];  // dh_t of the active rows
        }
        if (proj) {
          std::copy(dh, dh + n * P, DHp + (t * B + r0) * P);
          gemm_xw<scalar_t>(n, H, P, dh, P, Wr, scalar_t(0), dr, H);  // dr = dh_t W_hr
        }
        for (int part = 0; part < 2; ++part) {  // rows [mid, re) read c0s (all of them at k = 0)
          const int64_t a = part == 0 ? 0 : mid - r0, b = part == 0 ? mid - r0 : n;
          if (b <= a) continue;
          const scalar_t* cp = part == 0 ? Cp + (tp * B + r0) * H : c0p + mid * H;  // c2_{t-1}
          backward_rows<scalar_t>(Gp + (t * B + r0 + a) * 4 * H, cp, TCp + (t * B + r0 + a) * H, dr + a * H,
                                  dcp + (r0 + a) * H, dg + a * 4 * H, 0, b - a, H);
        }
        if (onednn) {
          Tensor dg_t = dG[t].narrow(0, r0, nb);
          out.copy_(k == 0 ? onednn_linear(dg_t, *packed, std::nullopt)
                           : onednn_add(dg_t, dy[tp].narrow(0, r0, nb), *packed));
        } else if (holes || k == 0) {
          if (!pw.gemm<scalar_t>(n, dg, 4 * H, scalar_t(0), dh, P))
            gemm_xw<scalar_t>(n, P, 4 * H, dg, 4 * H, W, scalar_t(0), dh, P);  // dh_{t-1} = da W_hh
        } else {
          std::copy(dyp + (tp * B + r0) * P, dyp + (tp * B + r1) * P, dh);
          if (!pw.gemm<scalar_t>(nb, dg, 4 * H, scalar_t(1), dh, P))
            gemm_xw<scalar_t>(nb, P, 4 * H, dg, 4 * H, W, scalar_t(1), dh, P);  // dy_{t-1} + da W_hh
        }
      }
    });
  });
  return {dG, dh_all, dc2.mul_(2), DH};
}

// Inference only: no (T, B, 4H) pre-activation buffer at all. Each step makes one GEMM
// of [x_t, h_{t-1}] (rows, I + H) with the stacked weight [W_ih | W_hh], so the gates
// never leave the cache. x (T, B, I); w_cat_t (I + H, 4H) = [W_ih | W_hh]^T;
// bias (4H,) = b_ih + b_hh or None; packed: oneDNN packing of [W_ih | W_hh] or None.
// Returns y (T, B, H) and the final c2 (B, H).
std::vector<Tensor> lstm_infer(const Tensor& x, const Tensor& h0, const Tensor& c0s, const Tensor& w_cat_t,
                               const std::optional<Tensor>& bias, const std::optional<Tensor>& packed,
                               bool reverse) {
  check(x, "x");
  check(h0, "h0");
  check(c0s, "c0s");
  check_transposed(w_cat_t, "w_cat_t");
  const int64_t T = x.size(0), B = x.size(1), I = x.size(2), H = h0.size(1);
  Tensor y = at::empty({T, B, H}, x.options());
  Tensor C = c0s.clone();
  const Tensor b = given(bias) ? bias->contiguous() : Tensor();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "rnnkit_lstm_infer", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    const scalar_t* W = w_cat_t.data_ptr<scalar_t>();  // [W_ih | W_hh] (4H, I + H) row-major
    const scalar_t* bp = b.defined() ? b.data_ptr<scalar_t>() : nullptr;
    over_row_blocks(B, T, 4 * H * (I + H), [&](int64_t r0, int64_t r1) {
      const int64_t nb = r1 - r0;
      Tensor xh = at::empty({nb, I + H}, x.options());  // [x_t, h_{t-1}] for these rows
      Tensor gates = at::empty({nb, 4 * H}, x.options());
      xh.narrow(1, I, H).copy_(h0.narrow(0, r0, nb));
      scalar_t* xhp = xh.data_ptr<scalar_t>();
      scalar_t* gp = gates.data_ptr<scalar_t>();
      scalar_t* c = C.data_ptr<scalar_t>() + r0 * H;
      for (int64_t k = 0; k < T; ++k) {
        const int64_t t = reverse ? T - 1 - k : k;
        const scalar_t* xt = xp + (t * B + r0) * I;
        for (int64_t r = 0; r < nb; ++r) std::copy(xt + r * I, xt + (r + 1) * I, xhp + r * (I + H));
        scalar_t* pre = gp;
        Tensor pre_t;
        if (given(packed)) {  // oneDNN with the packed weight (large weights)
          pre_t = onednn_linear(xh, *packed, bias);
          pre = pre_t.data_ptr<scalar_t>();
        } else {
          for (int64_t r = 0; r < nb; ++r) {  // gates = bias, then += [x_t, h_{t-1}] [W_ih | W_hh]^T
            if (bp) std::copy(bp, bp + 4 * H, gp + r * 4 * H);
            else std::fill(gp + r * 4 * H, gp + (r + 1) * 4 * H, scalar_t(0));
          }
          gemm_xwt<scalar_t>(nb, 4 * H, I + H, xhp, I + H, W, scalar_t(1), gp, 4 * H);
        }
        scalar_t* yt = yp + (t * B + r0) * H;
        forward_rows<scalar_t, false>(pre, nullptr, c, c, nullptr, yt, 0, nb, H);  // cell in place
        for (int64_t r = 0; r < nb; ++r)  // h_t into the next step's GEMM input
          std::copy(yt + r * H, yt + (r + 1) * H, xhp + r * (I + H) + I);
      }
    });
  });
  return {y, C};
}

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("lstm_forward(Tensor G, Tensor h0, Tensor c0s, Tensor w_hh_t, Tensor? packed, bool reverse, bool save, Tensor? batch_sizes=None, Tensor? w_hr=None) -> Tensor[]",
        &lstm_forward);
  m.def("lstm_infer(Tensor x, Tensor h0, Tensor c0s, Tensor w_cat_t, Tensor? bias, Tensor? packed, bool reverse) -> Tensor[]",
        &lstm_infer);
  m.def("lstm_backward(Tensor G, Tensor C, Tensor TC, Tensor c0s, Tensor dy, Tensor dh_n, Tensor dc_n, Tensor w_hh, Tensor? packed, bool reverse, Tensor? batch_sizes=None, Tensor? w_hr=None) -> Tensor[]",
        &lstm_backward);
}

}  // namespace rnnkit_kernels
