// Per-row math of the extended LSTM's fused loops (lstm_ext.cpp): the forward and the
// backward pass over one step's batch rows, and the row statistics of layer norm. The
// equations are at the top of lstm_ext.cpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "vmath.h"

namespace rnnkit_lstm_ext {

using rnnkit_kernels::sigm;

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

}  // namespace rnnkit_lstm_ext
