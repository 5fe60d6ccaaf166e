// Fused time loops of the extended LSTM (rnnkit/nn/extensions/lstm_bptt.py and
// lstm_kernel.py): layer norm of the recurrent gate term and of the cell, zoneout and
// recurrent dropout, forward and backward, with one GEMM and one fused pass over each
// batch row per step; rows run in parallel.
//
// Same equations and notation as the module docstring of lstm_bptt.py. Per step t (walk
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
#include <cstdlib>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "vmath.h"

namespace rnnkit_lstm_ext {
namespace {

using at::Tensor;
using rnnkit_kernels::sigm;

// Rows per parallel chunk: below about 16k elements a second thread costs more than it saves.
int64_t grain_rows(int64_t width) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, width)); }

// base + h @ W^T on oneDNN with a weight packed by torch.ops.mkldnn._reorder_linear_weight.
Tensor onednn_add(const Tensor& h, const Tensor& base, const Tensor& packed) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("mkldnn::_linear_pointwise", "binary");
  torch::jit::Stack stack{h, base, packed, c10::IValue(), c10::IValue(std::string("add"))};
  op.callBoxed(&stack);
  return stack[0].toTensor();
}

// h @ W^T on oneDNN, no bias.
Tensor onednn_mm(const Tensor& h, const Tensor& packed) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("mkldnn::_linear_pointwise", "");
  torch::jit::Stack stack{h, packed, c10::IValue(), c10::IValue(std::string("none")),
                          c10::IValue(c10::List<std::optional<at::Scalar>>()), c10::IValue(std::string(""))};
  op.callBoxed(&stack);
  return stack[0].toTensor();
}

// Large buffers recycled between calls. A training step allocates and frees the same
// (T, B, ·) histories every call; through malloc, buffers this large go back to the
// kernel when freed and page-fault on every first touch when allocated again, which on
// the development VM cost 5-9 µs per 4 KiB page, more than the loop's own arithmetic.
// The pool keeps freed buffers (exact byte sizes, up to kPoolBytes in all) for the next
// call; the tensors are ordinary (from_blob with a deleter that returns the memory).
class Pool {
 public:
  static constexpr size_t kMinBytes = size_t(1) << 20;   // smaller ones come from at::empty
  static constexpr size_t kPoolBytes = size_t(1) << 30;  // most memory kept while unused

  void* take(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(bytes);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        held_ -= bytes;
        return p;
      }
    }
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    TORCH_CHECK(p != nullptr, "rnnkit lstm_ext kernel: out of memory allocating ", bytes, " bytes");
    return p;
  }

  void give(void* p, size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (held_ + bytes <= kPoolBytes) {
        free_.emplace(bytes, p);
        held_ += bytes;
        return;
      }
    }
    std::free(p);
  }

 private:
  std::mutex mu_;
  std::unordered_multimap<size_t, void*> free_;
  size_t held_ = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: tensors may be freed during interpreter exit
  return *p;
}

// at::empty for the large per-call buffers, through the pool.
Tensor empty(at::IntArrayRef sizes, const at::TensorOptions& opt) {
  const size_t bytes = size_t(c10::multiply_integers(sizes)) * opt.dtype().itemsize();
  if (bytes < Pool::kMinBytes) return at::empty(sizes, opt);
  void* p = pool().take(bytes);
  return at::from_blob(p, sizes, [bytes](void* q) { pool().give(q, bytes); }, opt);
}

bool given(const std::optional<Tensor>& t) { return t.has_value() && t->defined(); }

void check(const Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu() && t.is_contiguous(), "rnnkit lstm_ext kernel: ", name,
              " must be a contiguous CPU tensor");
}

template <typename S>
const S* ptr(const std::optional<Tensor>& t) {
  if (!given(t)) return nullptr;
  check(*t, "an optional argument");
  return t->data_ptr<S>();
}

// What stays the same for every step of one call.
template <typename S>
struct Setup {
  int64_t H;
  const S* g_ih;                     // LN of the input part done here (ax is then x W_ihᵀ), or null
  const S *g_hh, *b_hh, *g_c, *b_c;  // layer norm (all null when off); b_hh: every constant shift
  const S* d;                        // (B, H) recurrent dropout mask, or null
  bool zone;                         // zoneout on: per-step masks, or the constants p_h, p_c
  S p_h, p_c, eps;
  bool ln() const { return g_hh != nullptr; }
};

// start + w (end − start) as torch.lerp computes it: exactly `end` when w = 1 (a zoned-out
// unit keeps its previous value bit for bit).
template <typename S>
inline S lerp(S start, S end, S w) {
  return w < S(0.5) ? start + w * (end - start) : end - (end - start) * (S(1) - w);
}

// Row statistics of v (n): mean and 1/√(var + ε), var the biased variance (as LN).
template <typename S>
inline void moments(const S* v, int64_t n, S eps, S& mean, S& rstd) {
  S sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) sum += v[j];
  mean = sum / S(n);
  S sq = 0;
  const S m = mean;
#pragma omp simd reduction(+ : sq)
  for (int64_t j = 0; j < n; ++j) sq += (v[j] - m) * (v[j] - m);
  rstd = S(1) / std::sqrt(sq / S(n) + eps);
}

// One step's pointers, rows [r0, r1) of (B, ·) blocks.
template <typename S>
struct Fwd {
  const S* ax;     // (B, 4H) input part (x W_ihᵀ when P.g_ih)
  const S* rec;    // (B, 4H) u (LN) or ax + u
  S* act;          // (B, 4H) out: i, f, g, o
  S* uhat;         // (B, 4H) out (LN)
  S* rho;          // (B) out (LN)
  S* mu_ih;        // (B) out (P.g_ih)
  S* rho_ih;       // (B) out (P.g_ih)
  const S* hprev;  // (B, H)
  const S* cprev;  // (B, H)
  const S* mh;     // (B, H) zoneout masks, or null (constant p)
  const S* mc;
  S* chat;   // (B, H) out (LN)
  S* rho_c;  // (B) out (LN)
  S* th;     // (B, H) out: tanh(n)
  S* h;      // (B, H) out: h_t
  S* c;      // (B, H) out: c_t (may be cprev: updated in place)
  S* hin;    // (B, H) out: d ⊙ h_t for the next GEMM, or null
};

template <typename S>
void forward_rows(const Setup<S>& P, const Fwd<S>& F, int64_t r0, int64_t r1) {
  const int64_t H = P.H, G = 4 * H;
  std::vector<S> cnew_v(H);
  S* cn = cnew_v.data();
  for (int64_t r = r0; r < r1; ++r) {
    S* a = F.act + r * G;
    const S* rec = F.rec + r * G;
    const S* x = F.ax + r * G;
    if (P.ln()) {
      S mu, rs;
      moments(rec, G, P.eps, mu, rs);
      F.rho[r] = rs;
      S* uh = F.uhat + r * G;
      if (P.g_ih) {  // a = γ_ih x̂ + γ_hh û + shift
        S mu_i, rs_i;
        moments(x, G, P.eps, mu_i, rs_i);
        F.mu_ih[r] = mu_i;
        F.rho_ih[r] = rs_i;
#pragma omp simd
        for (int64_t j = 0; j < G; ++j) {
          const S v = (rec[j] - mu) * rs;
          uh[j] = v;
          a[j] = P.g_ih[j] * ((x[j] - mu_i) * rs_i) + (P.g_hh[j] * v + P.b_hh[j]);
        }
      } else {  // a = ax + γ_hh û + β_hh
#pragma omp simd
        for (int64_t j = 0; j < G; ++j) {
          const S v = (rec[j] - mu) * rs;
          uh[j] = v;
          a[j] = x[j] + (P.g_hh[j] * v + P.b_hh[j]);
        }
      }
    } else if (rec != a) {
#pragma omp simd
      for (int64_t j = 0; j < G; ++j) a[j] = rec[j];
    }
    const S* cp = F.cprev + r * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const S i = sigm(a[j]), f = sigm(a[H + j]);
      const S g = S(2) * sigm(S(2) * a[2 * H + j]) - S(1);
      a[j] = i;
      a[H + j] = f;
      a[2 * H + j] = g;
      a[3 * H + j] = sigm(a[3 * H + j]);
      cn[j] = f * cp[j] + i * g;
    }
    S* th = F.th + r * H;
    if (P.ln()) {
      S mu_c, rs_c;
      moments(cn, H, P.eps, mu_c, rs_c);
      F.rho_c[r] = rs_c;
      S* ch = F.chat + r * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const S v = (cn[j] - mu_c) * rs_c;
        ch[j] = v;
        th[j] = S(2) * sigm(S(2) * (P.g_c[j] * v + P.b_c[j])) - S(1);
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) th[j] = S(2) * sigm(S(2) * cn[j]) - S(1);
    }
    const S* o = a + 3 * H;
    const S* hp = F.hprev + r * H;
    S* h = F.h + r * H;
    S* c = F.c + r * H;
    if (P.zone) {
      const S* mh = F.mh ? F.mh + r * H : nullptr;
      const S* mc = F.mc ? F.mc + r * H : nullptr;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const S wh = mh ? mh[j] : P.p_h, wc = mc ? mc[j] : P.p_c;
        h[j] = lerp(o[j] * th[j], hp[j], wh);
        c[j] = lerp(cn[j], cp[j], wc);
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        h[j] = o[j] * th[j];
        c[j] = cn[j];
      }
    }
    if (F.hin) {
      const S* d = P.d + r * H;
      S* hi = F.hin + r * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) hi[j] = d[j] * h[j];
    }
  }
}

template <typename S>
struct Bwd {
  const S* dy;     // (B, H) ∂L/∂y_t, or null
  const S* gh;     // (B, H) du_{t+1} W_hh, or null at the walk's first step
  S* dhc;          // (B, H) in: dh_n (first step) or m^h dh_{t+1}; out: m^h dh_t (zoneout)
  S* dc;           // (B, H) in: dc_{t+1}; out: dc_t (the carry to step t − 1)
  const S* act;    // (B, 4H) i, f, g, o
  const S* th;     // (B, H)
  const S* cprev;  // (B, H)
  const S* mh;     // (B, H) or null
  const S* mc;
  const S* chat;   // (B, H) (LN)
  const S* rho_c;  // (B) (LN)
  const S* uhat;   // (B, 4H) (LN)
  const S* rho;    // (B) (LN)
  const S* xw;     // (B, 4H) x W_ihᵀ (P.g_ih)
  const S* mu_ih;  // (B) (P.g_ih)
  const S* rho_ih; // (B) (P.g_ih)
  S* da;           // (B, 4H) out: ∂L/∂ax, or ∂L/∂(x W_ihᵀ) when P.g_ih
  S* du;           // (B, 4H) out (LN)
  // Per-row sums over the steps, (B, ·), for the LN parameters' gradients (LN only):
  S* acc_g_hh;  // Σ da ⊙ û        (B, 4H)
  S* acc_b_hh;  // Σ da            (B, 4H)
  S* acc_g_c;   // Σ dn ⊙ ĉ        (B, H)
  S* acc_b_c;   // Σ dn            (B, H)
  S* acc_g_ih;  // Σ da ⊙ x̂_ih     (B, 4H) (P.g_ih)
};

template <typename S>
void backward_rows(const Setup<S>& P, const Bwd<S>& F, int64_t r0, int64_t r1) {
  const int64_t H = P.H, G = 4 * H;
  std::vector<S> dn_v(H);
  S* dn = dn_v.data();
  for (int64_t r = r0; r < r1; ++r) {
    const S* a = F.act + r * G;
    const S* th = F.th + r * H;
    const S* dy = F.dy ? F.dy + r * H : nullptr;
    const S* gh = F.gh ? F.gh + r * H : nullptr;
    const S* d = P.d ? P.d + r * H : nullptr;
    const S* mh = F.mh ? F.mh + r * H : nullptr;
    const S* mc = F.mc ? F.mc + r * H : nullptr;
    S* dhc = F.dhc + r * H;
    S* da = F.da + r * G;
    const S* gc = P.g_c;
    const S* ch = P.ln() ? F.chat + r * H : nullptr;
    S* ag_c = P.ln() ? F.acc_g_c + r * H : nullptr;
    S* ab_c = P.ln() ? F.acc_b_c + r * H : nullptr;
    // dh, dh̃, the zoned-out carry, da_o and dn
    const bool first = gh == nullptr;
    S s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
    for (int64_t j = 0; j < H; ++j) {
      S dh = dy ? dy[j] : S(0);
      if (first) {
        dh += dhc[j];
      } else {
        if (P.zone) dh += dhc[j];
        dh += d ? d[j] * gh[j] : gh[j];
      }
      S dht = dh;
      if (P.zone) {
        const S keep = dh * (mh ? mh[j] : P.p_h);
        dhc[j] = keep;
        dht = dh - keep;
      }
      const S o = a[3 * H + j], t = th[j];
      da[3 * H + j] = dht * t * (o * (S(1) - o));
      const S v = dht * (o * (S(1) - t * t));
      dn[j] = v;
      if (ch) {
        s1 += gc[j] * v;
        s2 += gc[j] * v * ch[j];
        ag_c[j] += v * ch[j];
        ab_c[j] += v;
      }
    }
    // dc̃, da_i, da_f, da_g and the cell carry
    const S* cp = F.cprev + r * H;
    S* dc = F.dc + r * H;
    const S m1 = s1 / S(H), m2 = s2 / S(H), rs_c = ch ? F.rho_c[r] : S(1);
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      S dct = dc[j], keep = 0;
      if (P.zone) {
        keep = dct * (mc ? mc[j] : P.p_c);
        dct -= keep;
      }
      dct += ch ? rs_c * (gc[j] * dn[j] - m1 - ch[j] * m2) : dn[j];
      const S i = a[j], f = a[H + j], g = a[2 * H + j];
      da[j] = dct * g * (i * (S(1) - i));
      da[H + j] = dct * cp[j] * (f * (S(1) - f));
      da[2 * H + j] = dct * i * (S(1) - g * g);
      dc[j] = keep + dct * f;
    }
    if (!P.ln()) continue;
    // through the LN of the recurrent term: du, and the sums for γ_hh, β_hh
    const S* uh = F.uhat + r * G;
    S* ag = F.acc_g_hh + r * G;
    S* ab = F.acc_b_hh + r * G;
    S s3 = 0, s4 = 0;
#pragma omp simd reduction(+ : s3, s4)
    for (int64_t j = 0; j < G; ++j) {
      const S v = P.g_hh[j] * da[j];
      s3 += v;
      s4 += v * uh[j];
      ag[j] += da[j] * uh[j];
      ab[j] += da[j];
    }
    const S m3 = s3 / S(G), m4 = s4 / S(G), rs = F.rho[r];
    S* du = F.du + r * G;
#pragma omp simd
    for (int64_t j = 0; j < G; ++j) du[j] = rs * (P.g_hh[j] * da[j] - m3 - uh[j] * m4);
    if (!P.g_ih) continue;
    // through the LN of the input part: da becomes ∂L/∂(x W_ihᵀ); x̂ recomputed
    const S* x = F.xw + r * G;
    const S mu_i = F.mu_ih[r], rs_i = F.rho_ih[r];
    S* agi = F.acc_g_ih + r * G;
    S s5 = 0, s6 = 0;
#pragma omp simd reduction(+ : s5, s6)
    for (int64_t j = 0; j < G; ++j) {
      const S xh = (x[j] - mu_i) * rs_i;
      const S v = P.g_ih[j] * da[j];
      s5 += v;
      s6 += v * xh;
      agi[j] += da[j] * xh;
    }
    const S m5 = s5 / S(G), m6 = s6 / S(G);
#pragma omp simd
    for (int64_t j = 0; j < G; ++j) {
      const S xh = (x[j] - mu_i) * rs_i;
      da[j] = rs_i * (P.g_ih[j] * da[j] - m5 - xh * m6);
    }
  }
}

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
        rec = onednn ? onednn_mm(hin, *packed) : at::mm_out(u, hin, w_hh_t);
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
        gh = onednn_mm(du[t], *packed);
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
