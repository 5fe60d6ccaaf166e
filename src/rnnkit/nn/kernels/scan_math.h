// Elementwise math of the MinGRU / MinLSTM scan kernels (scan.cpp), written so that GCC
// vectorises it like vmath.h. Each gate is built from e^{-|p|} ∈ (0, 1], so nothing
// overflows, and both a gate and its complement come out without a cancelling 1 - x.
#pragma once

#include <algorithm>
#include <cmath>

#include "vmath.h"

namespace rnnkit_kernels::min_rnn {

// e^x: the vectorisable exp_f in float, the library exp in double (the tests' precision).
inline float scan_exp(float x) { return exp_f(x); }
inline double scan_exp(double x) { return std::exp(x); }

// The gate a (the weight of h_{t-1}) and its complement z = 1 - a, both in [0, 1].
//   MinGRU:  a = 1 - σ(p_z) = σ(-p_z),  z = σ(p_z).
// With u = e^{-|p|}: σ(p) = 1/(1+u) for p >= 0 and u/(1+u) for p < 0.
template <typename T>
struct GruGate {
  T a, z;
  inline GruGate(T p) {
    const T u = scan_exp(-std::abs(p));
    const T d = T(1) / (T(1) + u);
    a = p >= T(0) ? u * d : d;
    z = p >= T(0) ? d : u * d;
  }
  // ∂a/∂p_z = -a z.
};

// MinLSTM's normalised forget gate a = f / (f + i) and z = i / (f + i), f = σ(p_f),
// i = σ(p_i), computed as a = σ(log σ(p_f) - log σ(p_i)) without logs: with
// log σ(p) = min(p, 0) - log(1 + u), u = e^{-|p|},
//   a : z = e^{min(p_f,0)} (1 + u_i) : e^{min(p_i,0)} (1 + u_f),
// and the larger of the two exponentials is divided out, leaving e = e^{-|δ|} ≤ 1 with
// δ = min(p_f,0) - min(p_i,0). Saturated gates (p_f, p_i → -∞ together) stay finite.
template <typename T>
struct LstmGate {
  T a, z;
  T sf, si;  // σ(-p_f) and σ(-p_i): ∂a/∂p_f = a z σ(-p_f), ∂a/∂p_i = -a z σ(-p_i)
  inline LstmGate(T pf, T pi) {
    const T uf = scan_exp(-std::abs(pf));
    const T ui = scan_exp(-std::abs(pi));
    const T delta = std::min(pf, T(0)) - std::min(pi, T(0));
    const T e = scan_exp(-std::abs(delta));
    const T wa = (delta >= T(0) ? T(1) : e) * (T(1) + ui);
    const T wz = (delta >= T(0) ? e : T(1)) * (T(1) + uf);
    const T d = T(1) / (wa + wz);
    a = wa * d;
    z = wz * d;
    const T df = T(1) / (T(1) + uf), di = T(1) / (T(1) + ui);
    sf = pf >= T(0) ? uf * df : df;
    si = pi >= T(0) ? ui * di : di;
  }
};

// The candidate h̃ = g(p) = p + 1/2 for p > 0, σ(p) otherwise, and g'(p): 1 for p > 0,
// σ(p)(1 - σ(p)) otherwise (the left derivative at 0, as the Python path takes it).
// With v = e^{min(p,0)}: σ(p) = v/(1+v) and σ(1-σ) = v/(1+v)² for p ≤ 0.
template <typename T>
struct Candidate {
  T g, slope;
  inline Candidate(T p) {
    const T v = scan_exp(std::min(p, T(0)));
    const T d = T(1) / (T(1) + v);
    g = p > T(0) ? p + T(0.5) : v * d;
    slope = p > T(0) ? T(1) : v * d * d;
  }
};

}  // namespace rnnkit_kernels::min_rnn
