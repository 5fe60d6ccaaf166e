// Fused time loops of the extended LSTM (rnnkit/nn/bptt/lstm_ext.py and
// lstm_ext_kernel.py): layer norm of the recurrent gate term and of the cell, zoneout and
// recurrent dropout, forward and backward, with one GEMM and one fused pass over each
// batch row per step; rows run in parallel.
//
// Same equations and notation as the module docstring of lstm_ext.py. Per step t (walk
// order), for each row:
//
//   forward:   u = h_in W_hhᵀ  (GEMM),  h_in = d ⊙ h_{t−1}
//              û = (u − μ(u)) ρ,  a = ax_t + γ_hh û + β_hh          (LN; else a = ax_t + u)
//              i, f, o = σ(a_i, a_f, a_o);  g = 2σ(2a_g) − 1            (= tanh a_g)
//              c̃ = f c_{t−1} + i g;  ĉ = (c̃ − μ(c̃)) ρ_c;  n = γ_c ĉ + β_c   (LN; else n = c̃)
//              h̃ = o tanh(n);  h_t = m^h h_{t−1} + (1 − m^h) h̃;  c_t = m^c c_{t−1} + (1 − m^c) c̃
//   backward:  dh = ∂L/∂y_t + m^h dh_{t+1} + d ⊙ (du_{t+1} W_hh)
//              dh̃ = (1 − m^h) dh;  dn = dh̃ o (1 − tanh² n);  da_o = dh̃ tanh(n) o(1 − o)
//              dc̃ = (1 − m^c) dc + ρ_c (γ_c dn − mean(γ_c dn) − ĉ mean(γ_c dn ĉ))   (LN; else + dn)
//              da_i = dc̃ g i(1−i),  da_f = dc̃ c_{t−1} f(1−f),  da_g = dc̃ i (1 − g²)
//              du = ρ (γ_hh da − mean(γ_hh da) − û mean(γ_hh da û))              (LN; else du = da)
//              dc_{t−1} = m^c dc + f dc̃
//
// With g_ih, the input part is normalised here too: ax holds xw = x W_ihᵀ, and
// a = γ_ih x̂ + γ_hh û + s with x̂ = (xw − μ(xw)) ρ_ih and s every constant shift summed
// (passed as b_hh); the backward then returns ∂L/∂xw = ρ_ih (γ_ih da − mean(γ_ih da) −
// x̂ mean(γ_ih da x̂)), x̂ recomputed from xw and the saved μ, ρ_ih.
//
// The LN parameters' gradients are summed over the steps per batch row inside the loop
// (no race: a row belongs to one thread), then over rows; dW_hh is left to the caller,
// which gets du.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

#include <cmath>
#include <optional>
#include <vector>

#include "common.h"
#include "lstm_ext_rows.h"
#include "pool.h"
#include "vmath.h"

namespace rnnkit_lstm_ext {
namespace {

using at::Tensor;
using rnnkit_kernels::check;
using rnnkit_kernels::given;
using rnnkit_kernels::onednn_add;
using rnnkit_kernels::onednn_linear;
using rnnkit_kernels::sigm;

// Rows per parallel chunk: below about 16k elements a second thread costs more than it saves.
int64_t grain_rows(int64_t width) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, width)); }

// at::empty for the large per-call buffers, through the shared pool (pool.h).
Tensor empty(at::IntArrayRef sizes, const at::TensorOptions& opt) { return rnnkit_kernels::pooled_empty(sizes, opt); }

template <typename S>
const S* ptr(const std::optional<Tensor>& t) {
  if (!given(t)) return nullptr;
  check(*t, "an optional argument");
  return t->data_ptr<S>();
}

// The per-row passes (Setup, forward_rows, backward_rows) live in lstm_ext_rows.h.

template <typename S>
Setup<S> setup(int64_t H, const std::optional<Tensor>& g_ih, const std::optional<Tensor>& g_hh,
               const std::optional<Tensor>& b_hh, const std::optional<Tensor>& g_c,
               const std::optional<Tensor>& b_c, const std::optional<Tensor>& d, bool zone, double p_h,
               double p_c, double eps) {
  return Setup<S>{H,         ptr<S>(g_ih), ptr<S>(g_hh), ptr<S>(b_hh), ptr<S>(g_c), ptr<S>(b_c),
                  ptr<S>(d), zone,         S(p_h),       S(p_c),       S(eps)};
}

Tensor none_like(const Tensor& t) { return at::empty({0}, t.options()); }

// ax (T, B, 4H): the input part of the gates, or with g_ih (4H) its pre-LN value x W_ihᵀ,
// normalised here (then b_hh is the sum of every constant shift: β_ih, β_hh and the
// biases). h0, c0 (B, H). w_hh_t (H, 4H) = W_hhᵀ (any strides), packed: W_hh for oneDNN,
// or None. LN parameters g_hh, b_hh (4H), g_c, b_c (H) or None; d (B, H) or None;
// zoneout: m_h, m_c (T, B, H), or None with zoneout set, in which case the constants p_h,
// p_c are the masks (evaluation). With save, returns [y, cs, acts, th, uhat, rho, chat,
// rho_c, mu_ih, rho_ih] over all steps (LN ones empty without LN, the last two without
// g_ih); without, [y, c_n] only.
std::vector<Tensor> lstm_ext_forward(const Tensor& ax, const Tensor& h0, const Tensor& c0, const Tensor& w_hh_t,
                                     const std::optional<Tensor>& packed, const std::optional<Tensor>& g_ih,
                                     const std::optional<Tensor>& g_hh, const std::optional<Tensor>& b_hh,
                                     const std::optional<Tensor>& g_c, const std::optional<Tensor>& b_c,
                                     const std::optional<Tensor>& d, const std::optional<Tensor>& m_h,
                                     const std::optional<Tensor>& m_c, bool zoneout, double p_h, double p_c,
                                     double eps, bool reverse, bool save) {
  check(ax, "ax");
  check(h0, "h0");
  check(c0, "c0");
  const int64_t T = ax.size(0), B = ax.size(1), G = ax.size(2), H = G / 4;
  const bool ln = given(g_hh), onednn = given(packed), drop = given(d), in_ln = given(g_ih);
  TORCH_CHECK(given(b_hh) == ln && given(g_c) == ln && given(b_c) == ln && (ln || !in_ln),
              "rnnkit lstm_ext kernel: the layer-norm parameters come together");
  const auto opt = ax.options();
  const int64_t Ts = save ? T : 1;  // steps kept: all, or a scratch of one
  Tensor y = empty({T, B, H}, opt);
  Tensor cs = save ? empty({T, B, H}, opt) : c0.clone();
  Tensor acts = empty({Ts, B, G}, opt);
  Tensor th = empty({Ts, B, H}, opt);
  Tensor uhat = ln ? empty({Ts, B, G}, opt) : none_like(ax);
  Tensor rho = ln ? at::empty({Ts, B}, opt) : none_like(ax);
  Tensor chat = ln ? empty({Ts, B, H}, opt) : none_like(ax);
  Tensor rho_c = ln ? at::empty({Ts, B}, opt) : none_like(ax);
  Tensor mu_ih = in_ln ? at::empty({Ts, B}, opt) : none_like(ax);
  Tensor rho_ih = in_ln ? at::empty({Ts, B}, opt) : none_like(ax);
  Tensor hin = drop ? h0 * *d : h0;
  AT_DISPATCH_FLOATING_TYPES(ax.scalar_type(), "rnnkit_lstm_ext_forward", [&] {
    using S = scalar_t;
    const Setup<S> P = setup<S>(H, g_ih, g_hh, b_hh, g_c, b_c, d, zoneout, p_h, p_c, eps);
    const S* mh = ptr<S>(m_h);
    const S* mc = ptr<S>(m_c);
    // Raw pointers per step (a Tensor view per buffer and step costs a few µs each);
    // views only where a GEMM needs them.
    auto base = [](const Tensor& b) { return b.numel() ? b.data_ptr<S>() : nullptr; };
    S *y_p = base(y), *cs_p = base(cs), *act_p = base(acts), *th_p = base(th), *uh_p = base(uhat);
    S *rho_p = base(rho), *chat_p = base(chat), *rho_c_p = base(rho_c), *mu_i_p = base(mu_ih),
      *rho_i_p = base(rho_ih);
    const S* ax_p = ax.data_ptr<S>();
    const int64_t BH = B * H, BG = B * G;
    for (int64_t k = 0; k < T; ++k) {
      const int64_t t = reverse ? T - 1 - k : k;
      const int64_t tp = reverse ? t + 1 : t - 1;
      const int64_t s = save ? t : 0;  // slot of the saved buffers
      Tensor rec;
      if (ln) {
        Tensor u = uhat[s];
        rec = onednn ? onednn_linear(hin, *packed, std::nullopt) : at::mm_out(u, hin, w_hh_t);
      } else {
        Tensor act = acts[s];
        rec = onednn ? onednn_add(hin, ax[t], *packed) : at::addmm_out(act, ax[t], hin, w_hh_t);
      }
      Fwd<S> F{ax_p + t * BG,
               rec.data_ptr<S>(),
               act_p + s * BG,
               ln ? uh_p + s * BG : nullptr,
               ln ? rho_p + s * B : nullptr,
               in_ln ? mu_i_p + s * B : nullptr,
               in_ln ? rho_i_p + s * B : nullptr,
               k == 0 ? h0.data_ptr<S>() : y_p + tp * BH,
               save ? (k == 0 ? c0.data_ptr<S>() : cs_p + tp * BH) : cs_p,
               mh ? mh + t * BH : nullptr,
               mc ? mc + t * BH : nullptr,
               ln ? chat_p + s * BH : nullptr,
               ln ? rho_c_p + s * B : nullptr,
               th_p + s * BH,
               y_p + t * BH,
               save ? cs_p + t * BH : cs_p,
               nullptr};
      if (drop) {
        if (k == 0) hin = at::empty({B, H}, opt);  // h0 ⊙ d was a temporary
        F.hin = hin.data_ptr<S>();
      }
      at::parallel_for(0, B, grain_rows(G), [&](int64_t r0, int64_t r1) { forward_rows<S>(P, F, r0, r1); });
      if (!drop) hin = y[t];
    }
  });
  if (save) return {y, cs, acts, th, uhat, rho, chat, rho_c, mu_ih, rho_ih};
  return {y, cs};
}

// The backward of lstm_ext_forward(save=true). dy (T, B, H) or None; dh_n, dc_n (B, H);
// w_hh (4H, H) (any strides), packed: W_hhᵀ for oneDNN, or None; xw: the forward's ax
// when it had g_ih; the rest as saved. Returns [da (T, B, 4H) = ∂L/∂ax, du (T, B, 4H) =
// ∂L/∂u (da itself without LN), dh0, dc0, dγ_hh, dβ_hh, dγ_c, dβ_c, dγ_ih] (the LN
// ones empty without LN, dγ_ih without g_ih; dβ_hh is then the shift's gradient).
std::vector<Tensor> lstm_ext_backward(const std::optional<Tensor>& dy, const Tensor& dh_n, const Tensor& dc_n,
                                      const Tensor& c0, const Tensor& w_hh, const std::optional<Tensor>& packed,
                                      const std::optional<Tensor>& xw, const std::optional<Tensor>& g_ih,
                                      const std::optional<Tensor>& g_hh, const std::optional<Tensor>& g_c,
                                      const std::optional<Tensor>& d, const std::optional<Tensor>& m_h,
                                      const std::optional<Tensor>& m_c, bool zoneout, double p_h, double p_c,
                                      const Tensor& cs, const Tensor& acts, const Tensor& th, const Tensor& uhat,
                                      const Tensor& rho, const Tensor& chat, const Tensor& rho_c,
                                      const Tensor& mu_ih, const Tensor& rho_ih, bool reverse) {
  check(c0, "c0");
  check(cs, "cs");
  check(acts, "acts");
  check(th, "th");
  const int64_t T = acts.size(0), B = acts.size(1), G = acts.size(2), H = G / 4;
  const bool ln = given(g_hh), onednn = given(packed), drop = given(d), in_ln = given(g_ih);
  TORCH_CHECK(!in_ln || (ln && given(xw)), "rnnkit lstm_ext kernel: g_ih needs xw and layer norm");
  if (ln) {
    for (auto& p : {std::make_pair(&uhat, "uhat"), std::make_pair(&rho, "rho"), std::make_pair(&chat, "chat"),
                    std::make_pair(&rho_c, "rho_c")})
      check(*p.first, p.second);
  }
  if (in_ln) {
    check(mu_ih, "mu_ih");
    check(rho_ih, "rho_ih");
  }
  const auto opt = acts.options();
  Tensor da = empty({T, B, G}, opt);
  Tensor du = ln ? empty({T, B, G}, opt) : da;
  Tensor acc_g_hh = ln ? at::zeros({B, G}, opt) : none_like(acts);
  Tensor acc_b_hh = ln ? at::zeros({B, G}, opt) : none_like(acts);
  Tensor acc_g_c = ln ? at::zeros({B, H}, opt) : none_like(acts);
  Tensor acc_b_c = ln ? at::zeros({B, H}, opt) : none_like(acts);
  Tensor acc_g_ih = in_ln ? at::zeros({B, G}, opt) : none_like(acts);
  Tensor dhc = dh_n.contiguous().clone();
  Tensor dc = dc_n.contiguous().clone();
  Tensor gh;
  AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "rnnkit_lstm_ext_backward", [&] {
    using S = scalar_t;
    const Setup<S> P = setup<S>(H, g_ih, g_hh, std::nullopt, g_c, std::nullopt, d, zoneout, p_h, p_c, 0.0);
    const S* mh = ptr<S>(m_h);
    const S* mc = ptr<S>(m_c);
    const S* dyp = ptr<S>(dy);
    const S* xwp = in_ln ? ptr<S>(xw) : nullptr;
    auto base = [](const Tensor& b) { return b.numel() ? b.data_ptr<S>() : nullptr; };
    const S *act_p = base(acts), *th_p = base(th), *cs_p = base(cs), *chat_p = base(chat),
            *rho_c_p = base(rho_c), *uh_p = base(uhat), *rho_p = base(rho), *mu_i_p = base(mu_ih),
            *rho_i_p = base(rho_ih);
    S *da_p = da.data_ptr<S>(), *du_p = du.data_ptr<S>();
    S *dhc_p = dhc.data_ptr<S>(), *dc_p = dc.data_ptr<S>();
    S *ag_hh = base(acc_g_hh), *ab_hh = base(acc_b_hh), *ag_c = base(acc_g_c), *ab_c = base(acc_b_c),
      *ag_ih = base(acc_g_ih);
    const int64_t BH = B * H, BG = B * G;
    for (int64_t k = T - 1; k >= 0; --k) {
      const int64_t t = reverse ? T - 1 - k : k;
      const int64_t tp = reverse ? t + 1 : t - 1;
      Bwd<S> F{dyp ? dyp + t * BH : nullptr,
               gh.defined() ? gh.data_ptr<S>() : nullptr,
               dhc_p,
               dc_p,
               act_p + t * BG,
               th_p + t * BH,
               k == 0 ? c0.data_ptr<S>() : cs_p + tp * BH,
               mh ? mh + t * BH : nullptr,
               mc ? mc + t * BH : nullptr,
               ln ? chat_p + t * BH : nullptr,
               ln ? rho_c_p + t * B : nullptr,
               ln ? uh_p + t * BG : nullptr,
               ln ? rho_p + t * B : nullptr,
               xwp ? xwp + t * BG : nullptr,
               in_ln ? mu_i_p + t * B : nullptr,
               in_ln ? rho_i_p + t * B : nullptr,
               da_p + t * BG,
               ln ? du_p + t * BG : nullptr,
               ag_hh,
               ab_hh,
               ag_c,
               ab_c,
               ag_ih};
      at::parallel_for(0, B, grain_rows(G), [&](int64_t r0, int64_t r1) { backward_rows<S>(P, F, r0, r1); });
      if (onednn) {
        gh = onednn_linear(du[t], *packed, std::nullopt);
      } else {
        if (!gh.defined()) gh = at::empty({B, H}, opt);
        at::mm_out(gh, du[t], w_hh);
      }
    }
  });
  Tensor dh0 = drop ? gh * *d : gh;
  if (zoneout) dh0 = dh0 + dhc;
  auto total = [&](const Tensor& acc) { return acc.numel() ? acc.sum(0) : acc; };
  return {da, du, dh0, dc, total(acc_g_hh), total(acc_b_hh), total(acc_g_c), total(acc_b_c), total(acc_g_ih)};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("lstm_ext_forward(Tensor ax, Tensor h0, Tensor c0, Tensor w_hh_t, Tensor? packed, Tensor? g_ih, "
        "Tensor? g_hh, Tensor? b_hh, Tensor? g_c, Tensor? b_c, Tensor? d, Tensor? m_h, Tensor? m_c, "
        "bool zoneout, float p_h, float p_c, float eps, bool reverse, bool save) -> Tensor[]",
        &lstm_ext_forward);
  m.def("lstm_ext_backward(Tensor? dy, Tensor dh_n, Tensor dc_n, Tensor c0, Tensor w_hh, Tensor? packed, "
        "Tensor? xw, Tensor? g_ih, Tensor? g_hh, Tensor? g_c, Tensor? d, Tensor? m_h, Tensor? m_c, "
        "bool zoneout, float p_h, float p_c, Tensor cs, Tensor acts, Tensor th, Tensor uhat, Tensor rho, "
        "Tensor chat, Tensor rho_c, Tensor mu_ih, Tensor rho_ih, bool reverse) -> Tensor[]",
        &lstm_ext_backward);
}

}  // namespace rnnkit_lstm_ext
