// The LSTM time loops with the hidden units split over threads (the alternative to the
// batch-row split of common.h's over_row_blocks), for plain LSTMs: no packed input, no
// projection, no oneDNN weight.
//
// Why: under the row split each thread's per-step GEMM has B/n rows; MKL is markedly
// less efficient per row at 16 rows than at 32 (benchmarks/RESULTS_text.md). Here every
// thread multiplies all B rows by its own column block of W_hh, so M stays B:
//   forward, thread k with units U_k (hu of them):
//     pre (B, 4hu) = h_{t-1} (B, P) · W_k^T,  W_k (4hu, P) = rows {q·H + U_k} of W_hh
//     gate math of units U_k: a = G[t][:, q·H + U_k] + pre[:, q·hu + ·]   (q = i, f, g, o)
//     writes y[t][:, U_k], c[:, U_k], G[t][:, q·H + U_k]; then ONE barrier, because
//     step t+1 reads all of y[t].
//   backward, thread k:
//     dG[t][:, q·H + U_k] from dh[:, U_k], dc2[:, U_k] (its own columns only); barrier,
//     because the GEMM reads all of dG[t];
//     dh[:, U_k] = dy[t-1][:, U_k] + dG[t] (B, 4H) · W_hh[:, U_k] (4H, hu): the columns
//     it needs itself at step t-1, so ONE barrier per step here too.
// Nothing is written twice and nothing is read before the barrier that orders it; the
// two steps' buffers (y[t] / y[t+1], dG[t] / dG[t-1]) are distinct.
#pragma once

#include <immintrin.h>

#include <time.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common.h"
#include "lstm_cell.h"
#include "vmath.h"

namespace rnnkit_kernels {

// A barrier for the per-step hand-off: spin (with pause) for a short while, then yield
// the core, so a descheduled partner on a busy machine does not cost a whole time slice
// of spinning. Generation counter, no mutex or condition variable.
class SpinBarrier {
 public:
  explicit SpinBarrier(int n) : n_(n) {}
  void wait() {
    const int gen = gen_.load(std::memory_order_acquire);
    if (count_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
      count_.store(0, std::memory_order_relaxed);
      gen_.store(gen + 1, std::memory_order_release);
      return;
    }
    for (int spins = 0; gen_.load(std::memory_order_acquire) == gen; ++spins) {
      if (spins < kSpins) {
        _mm_pause();
      } else {
        std::this_thread::yield();
      }
    }
  }

 private:
  static constexpr int kSpins = 4000;  // ~ tens of µs: about one step's gate math
  const int n_;
  std::atomic<int> count_{0};
  std::atomic<int> gen_{0};
};

// Which split the fused LSTM loops use: 0 = the batch rows (common.h), else the number
// of unit blocks. The rule, measured on a 2-vCPU Intel Xeon with 2 MB of L2 per core
// (docs/performance.md, "Splitting the hidden units"): exactly two threads, a plain LSTM
// call with enough work for two threads at all (common.h kMinParallelWork), and
//   H ≥ 512 and B ≤ 32, or H ≥ 1024 and B ≤ 64.
// There W_hh (4H·H floats, 4 MB at H = 512) overflows a core's L2 while each thread's
// half fits, and each thread's GEMM keeps all B rows; at H ≤ 384 or at more rows the
// batch split was as fast or faster. mode forces a split (tests, benchmarks): 1 = rows,
// 2 = units; it starts from RNNKIT_LSTM_SPLIT=rows|units in the environment.
inline int& lstm_split_mode() {
  static int mode = [] {
    const char* env = std::getenv("RNNKIT_LSTM_SPLIT");
    const std::string v = env ? env : "";
    return v == "rows" ? 1 : (v == "units" ? 2 : 0);
  }();
  return mode;
}

inline int lstm_unit_parts(int64_t B, int64_t T, int64_t H, int64_t threads, bool plain) {
  if (!plain || threads < 2 || B <= 0 || H < 2) return 0;
  const int mode = lstm_split_mode();
  if (mode == 1) return 0;
  const int64_t parts = std::min<int64_t>(threads, H);
  if (mode == 2) return int(parts);
  if (threads != 2 || B * T * 4 * H * H < kMinParallelWork) return 0;
  return (H >= 512 && B <= 32) || (H >= 1024 && B <= 64) ? 2 : 0;
}

// First unit of block k of n: the blocks are multiples of 16 units (one AVX-512 vector
// of floats) where H allows, the last one takes the rest.
inline int64_t unit_start(int64_t H, int64_t n, int64_t k) {
  if (k >= n) return H;
  const int64_t u = (H * k / n) / 16 * 16;
  return H >= 16 * n ? u : H * k / n;
}

// Per-thread CPU seconds of the last unit-split loop, [work, barrier wait] for each
// block, then the caller's set-up before the threads start (weight blocks), recorded when lstm_split_profile() is on (benchmarks/lstm_phases.py estimates
// the quiet-machine time from them: on a busy machine the wall clock mostly measures
// when the partner thread got a core).
inline bool& lstm_split_profile() {
  static bool on = false;
  return on;
}
inline std::vector<double>& lstm_split_cpu() {
  static std::vector<double> seconds;
  return seconds;
}
inline double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Times the barrier waits of one thread when profiling; records [work, wait] at the end.
struct WaitClock {
  bool on = lstm_split_profile();
  double start = on ? thread_cpu_seconds() : 0, waited = 0;
  void wait(SpinBarrier& b) {
    if (!on) return b.wait();
    const double t = thread_cpu_seconds();
    b.wait();
    waited += thread_cpu_seconds() - t;
  }
  void record(int64_t k) const {
    if (on) {
      lstm_split_cpu()[2 * k] = thread_cpu_seconds() - start - waited;
      lstm_split_cpu()[2 * k + 1] = waited;
    }
  }
};

// How many loops have run with the unit split (tests check that it was taken).
inline std::atomic<int64_t>& unit_split_runs() {
  static std::atomic<int64_t> runs{0};
  return runs;
}

// Runs body(k, n) on n threads at once (k = 0..n-1), each with MKL on one thread.
// Returns false, having run nothing, when the pool gives fewer than n threads (nested
// in a parallel region, or a smaller OpenMP team): the caller then uses the row split,
// since a barrier among fewer threads than blocks would never open.
inline bool on_threads(int64_t n, const std::function<void(int64_t, int64_t)>& body) {
  if (at::in_parallel_region()) return false;
  std::atomic<int> claimed{0};
  std::atomic<bool> short_team{false};
  const at::ThreadLocalState caller;
  at::parallel_for(0, n, 1, [&](int64_t k0, int64_t k1) {
    if (k1 - k0 != 1) {  // one thread got several blocks: the team is smaller than n
      short_team = true;
      return;
    }
    claimed.fetch_add(1);
    // wait until every block has its thread or we know the team is short
    for (int spins = 0; claimed.load() < n && !short_team.load(); ++spins) {
      if (spins > 4000) std::this_thread::yield();
    }
    if (short_team.load()) return;
    at::ThreadLocalStateGuard guard(caller);
    body(k0, n);
  });
  if (short_team.load()) return false;
  unit_split_runs().fetch_add(1);
  return true;
}

// The profiling hook's start (benchmarks/lstm_phases.py; not safe with concurrent
// calls): per-thread slots, and the set-up time since prep in the last one.
inline void start_split_profile(int64_t parts, double prep) {
  if (!lstm_split_profile()) return;
  lstm_split_cpu().assign(2 * parts + 1, 0.0);
  lstm_split_cpu().back() = thread_cpu_seconds() - prep;
}

// Gate math of one thread's units, forward. pre (B, 4hu): h_{t-1} W_k^T, gate q at
// columns [q·hu, (q+1)·hu); g: G[t] at the block's first unit (row stride 4H, gate
// stride H), overwritten with the activations when SAVE; cprev, c, tc, y: (B, ·) at the
// block's first unit, row stride H. Same formulas as lstm.cpp forward_rows.
template <typename T, bool SAVE>
void forward_units(const T* pre, T* g, const T* cprev, T* c, T* tc, T* y, int64_t B, int64_t hu, int64_t H) {
  for (int64_t r = 0; r < B; ++r) {
    const T* p = pre + r * 4 * hu;
    T* gr = g + r * 4 * H;
    cell_forward<T, SAVE>([gr, p, H, hu](int q, int64_t j) { return gr[q * H + j] + p[q * hu + j]; }, gr,
                          cprev + r * H, c + r * H, SAVE ? tc + r * H : nullptr, y + r * H, hu, H);
  }
}

// Gate math of one thread's units, backward: lstm.cpp backward_rows on the columns
// [u0, u0 + hu) (all pointers at the block's first unit; row strides 4H and H).
template <typename T>
void backward_units(const T* gates, const T* cprev, const T* tc, const T* dh, T* dc2, T* dgates, int64_t B,
                    int64_t hu, int64_t H) {
  for (int64_t r = 0; r < B; ++r) {
    cell_backward<T>(gates + r * 4 * H, cprev + r * H, tc + r * H, dh + r * H, dc2 + r * H, dgates + r * 4 * H, hu,
                     H);
  }
}

// W_k (4hu, H): the rows of W_hh (4H, H) for units [u0, u1) of every gate, contiguous.
inline Tensor forward_block(const Tensor& w_hh, int64_t u0, int64_t u1) {
  const int64_t H = w_hh.size(0) / 4;
  return w_hh.reshape({4, H, w_hh.size(1)}).narrow(1, u0, u1 - u0).reshape({4 * (u1 - u0), w_hh.size(1)}).contiguous();
}

// The weight MKL packs for one block; an empty one (the caller's plain GEMM) if packing
// is unavailable or fails, so that no thread leaves the loop before its barriers.
template <typename T>
PackedWeight pack_block(bool pack, int64_t rows, int64_t N, int64_t K, const T* W, bool transposed) {
  if (pack) {
    try {
      return PackedWeight(rows, N, K, W, transposed);
    } catch (...) {
    }
  }
  return PackedWeight(0, 0, 0, W, false);
}

// Forward loop with the unit split. G (T, B, 4H), y (T, B, H), C and TC (T, B, H) when
// save, else C (B, H) the running c2 and TC scratch; h0 (B, H), c0s (B, H); w_hh (4H, H).
// Returns false (nothing done) when the threads are not there (on_threads).
template <typename T>
bool forward_unit_split(int64_t parts, T* Gp, T* yp, T* Cp, T* TCp, const T* h0p, const T* c0p,
                        const Tensor& w_hh, int64_t TT, int64_t B, int64_t H, bool reverse, bool save) {
  const double prep = lstm_split_profile() ? thread_cpu_seconds() : 0;
  std::vector<Tensor> blocks, pres;
  for (int64_t k = 0; k < parts; ++k) {
    const int64_t u0 = unit_start(H, parts, k), u1 = unit_start(H, parts, k + 1);
    blocks.push_back(forward_block(w_hh, u0, u1));
    pres.push_back(at::empty({B, 4 * (u1 - u0)}, w_hh.options()));
  }
  SpinBarrier barrier{int(parts)};
  start_split_profile(parts, prep);
  return on_threads(parts, [&](int64_t k, int64_t n) {
    WaitClock clock;
    const int64_t u0 = unit_start(H, n, k), hu = unit_start(H, n, k + 1) - u0;
    const T* W = blocks[k].data_ptr<T>();
    T* pre = pres[k].data_ptr<T>();
    const PackedWeight pw = pack_block<T>(TT >= kMinPackSteps, B, 4 * hu, H, W, true);
    for (int64_t s = 0; s < TT; ++s) {
      const int64_t t = reverse ? TT - 1 - s : s;
      const int64_t tp = reverse ? t + 1 : t - 1;
      const T* hprev = s == 0 ? h0p : yp + tp * B * H;
      if (!pw.gemm<T>(B, hprev, H, T(0), pre, 4 * hu)) gemm_xwt<T>(B, 4 * hu, H, hprev, H, W, T(0), pre, 4 * hu);
      T* g = Gp + t * B * 4 * H + u0;
      T* c = (save ? Cp + t * B * H : Cp) + u0;
      T* tc = (save ? TCp + t * B * H : TCp) + u0;
      const T* cp = save ? (s == 0 ? c0p : Cp + tp * B * H) + u0 : c;
      if (save) {
        forward_units<T, true>(pre, g, cp, c, tc, yp + t * B * H + u0, B, hu, H);
      } else {
        forward_units<T, false>(pre, g, cp, c, tc, yp + t * B * H + u0, B, hu, H);
      }
      clock.wait(barrier);  // y[t] complete before any thread's next GEMM
    }
    clock.record(k);
  });
}

// Backward loop with the unit split; arguments as lstm_backward's (P = H), dh (B, H)
// holding dy[last] + dh_n, dc2 (B, H) holding dc_n / 2. Returns false as above.
template <typename T>
bool backward_unit_split(int64_t parts, const T* Gp, const T* Cp, const T* TCp, const T* c0p, const T* dyp, T* dGp,
                         T* dh, T* dc2, const Tensor& w_hh, int64_t TT, int64_t B, int64_t H, bool reverse) {
  const double prep = lstm_split_profile() ? thread_cpu_seconds() : 0;
  std::vector<Tensor> blocks;
  for (int64_t k = 0; k < parts; ++k) {
    const int64_t u0 = unit_start(H, parts, k), u1 = unit_start(H, parts, k + 1);
    blocks.push_back(w_hh.narrow(1, u0, u1 - u0).contiguous());  // (4H, hu)
  }
  SpinBarrier barrier{int(parts)};
  start_split_profile(parts, prep);
  return on_threads(parts, [&](int64_t k, int64_t n) {
    WaitClock clock;
    const int64_t u0 = unit_start(H, n, k), hu = unit_start(H, n, k + 1) - u0;
    const T* W = blocks[k].data_ptr<T>();
    const PackedWeight pw = pack_block<T>(TT >= kMinPackSteps, B, hu, 4 * H, W, false);
    for (int64_t s = TT - 1; s >= 0; --s) {
      const int64_t t = reverse ? TT - 1 - s : s;
      const int64_t tp = reverse ? t + 1 : t - 1;
      T* dg = dGp + t * B * 4 * H;
      const T* cp = (s == 0 ? c0p : Cp + tp * B * H) + u0;
      backward_units<T>(Gp + t * B * 4 * H + u0, cp, TCp + t * B * H + u0, dh + u0, dc2 + u0, dg + u0, B, hu, H);
      clock.wait(barrier);  // dG[t] complete before any thread's GEMM reads it
      const T beta = s == 0 ? T(0) : T(1);
      if (s > 0) {
        const T* dyt = dyp + tp * B * H + u0;
        for (int64_t r = 0; r < B; ++r) std::copy(dyt + r * H, dyt + r * H + hu, dh + u0 + r * H);
      }
      if (!pw.gemm<T>(B, dg, 4 * H, beta, dh + u0, H))
        gemm_xw<T>(B, hu, 4 * H, dg, 4 * H, W, beta, dh + u0, H);  // dh[:, U_k] (+)= dG[t] W_hh[:, U_k]
    }
    clock.record(k);
  });
}

}  // namespace rnnkit_kernels
