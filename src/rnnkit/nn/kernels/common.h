// Shared pieces of the fused loops: argument checks, the per-step GEMM routes and the
// split of the batch over threads.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>

// MKL's per-thread limit (exported by torch builds that use MKL; weak, so builds
// without MKL still load and simply skip the call).
extern "C" int MKL_Set_Num_Threads_Local(int) __attribute__((weak));  // the C entry point
// The BLAS torch links (MKL here, OpenBLAS on some builds), Fortran interface, 32-bit ints.
extern "C" void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*,
                       const float*, const int*, const float*, const int*, const float*, float*,
                       const int*) __attribute__((weak));
extern "C" void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*,
                       const double*, const int*, const double*, const int*, const double*, double*,
                       const int*) __attribute__((weak));

// MKL's packed GEMM (cblas_sgemm_pack / _compute, LP64), where torch's MKL exports it:
// the weight is laid out once for the GEMM kernel and reused by every step.
extern "C" size_t cblas_sgemm_pack_get_size(int, int, int, int) __attribute__((weak));
extern "C" void cblas_sgemm_pack(int, int, int, int, int, int, float, const float*, int, float*)
    __attribute__((weak));
extern "C" void cblas_sgemm_compute(int, int, int, int, int, int, const float*, int, const float*, int, float,
                                    float*, int) __attribute__((weak));

namespace rnnkit_kernels {

using at::Tensor;

// Keeps MKL on this thread alone while it lives: a single-threaded time loop makes many
// tiny GEMMs, and MKL's two-thread hand-off costs more than each of them.
struct MklSingleThread {
  int previous = 0;
  MklSingleThread() {
    if (MKL_Set_Num_Threads_Local) previous = MKL_Set_Num_Threads_Local(1);
  }
  ~MklSingleThread() {
    if (MKL_Set_Num_Threads_Local) MKL_Set_Num_Threads_Local(previous);
  }
};

inline void check(const Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu() && t.is_contiguous(), "rnnkit kernel: ", name,
              " must be a contiguous CPU tensor");
}

inline bool given(const std::optional<Tensor>& t) { return t.has_value() && t->defined(); }

// A weight passed as W^T must be the transposed view of a contiguous W (its storage is W).
inline void check_transposed(const Tensor& w_t, const char* name) {
  TORCH_CHECK(w_t.device().is_cpu() && w_t.dim() == 2 && w_t.t().is_contiguous(), "rnnkit kernel: ", name,
              " must be the transpose of a contiguous CPU matrix");
}

// Whether gemm_xwt/gemm_xw call the BLAS symbols (tests switch it off to cover the ATen
// fallback that builds without them take).
inline bool& use_blas() {
  static bool on = true;
  return on;
}

// Largest N·K that gemm_xwt/gemm_xw compute with their own loops instead of BLAS: at
// the tutorial's sizes (H = 10, a few hundred weights) MKL's per-call cost is several
// times the arithmetic. Tests move it (set_small_gemm) to cover both routes.
inline int64_t& small_gemm_limit() {
  static int64_t limit = 1024;
  return limit;
}

// C = beta·C + X·Wp[:, :N] for Wp (K, NP) zero-padded to NP columns, a multiple of the
// vector width. The padded, compile-time width keeps each row's accumulator in registers
// and the k loop free of remainder iterations; beta = 0 ignores C, as BLAS does.
template <typename T, int NP>
void small_gemm_rows(int64_t rows, int64_t N, int64_t K, const T* X, int64_t ldx, const T* Wp, T beta, T* C,
                     int64_t ldc) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* x = X + r * ldx;
    T* c = C + r * ldc;
    T acc[NP];
#pragma omp simd
    for (int j = 0; j < NP; ++j) acc[j] = T(0);
    for (int64_t k = 0; k < K; ++k) {
      const T xk = x[k];
      const T* w = Wp + k * NP;
#pragma omp simd
      for (int j = 0; j < NP; ++j) acc[j] += xk * w[j];
    }
    if (beta == T(0)) {
      for (int64_t j = 0; j < N; ++j) c[j] = acc[j];
    } else {
      for (int64_t j = 0; j < N; ++j) c[j] = beta * c[j] + acc[j];
    }
  }
}

// The small route: copies W (N, K) transposed, or W (K, N) as it is, into a zero-padded
// (K, NP) block on the stack, then runs small_gemm_rows for the smallest NP that fits.
template <typename T>
bool small_gemm(int64_t rows, int64_t N, int64_t K, const T* X, int64_t ldx, const T* W, bool transposed, T beta,
                T* C, int64_t ldc) {
  if (N * K > small_gemm_limit() || N > 64 || K > 64) return false;
  const int64_t NP = N <= 16 ? 16 : (N <= 32 ? 32 : 64);
  alignas(64) T Wp[64 * 64];
  for (int64_t k = 0; k < K; ++k) {
    T* row = Wp + k * NP;
    for (int64_t j = 0; j < N; ++j) row[j] = transposed ? W[j * K + k] : W[k * N + j];
    for (int64_t j = N; j < NP; ++j) row[j] = T(0);
  }
  if (NP == 16) {
    small_gemm_rows<T, 16>(rows, N, K, X, ldx, Wp, beta, C, ldc);
  } else if (NP == 32) {
    small_gemm_rows<T, 32>(rows, N, K, X, ldx, Wp, beta, C, ldc);
  } else {
    small_gemm_rows<T, 64>(rows, N, K, X, ldx, Wp, beta, C, ldc);
  }
  return true;
}

// C = beta·C + X·op(W) on raw row-major buffers: X (rows, K) with row stride ldx, C (rows, N)
// with row stride ldc; op(W) = Wᵀ for W (N, K) contiguous when transposed, else W (K, N)
// contiguous. The time loops call this once per step, so it skips building tensors: the
// small route for tiny weights, BLAS directly when torch's build exports it, else ATen.
template <typename T>
void gemm_rows(int64_t rows, int64_t N, int64_t K, const T* X, int64_t ldx, const T* W, bool transposed, T beta,
               T* C, int64_t ldc) {
  if (rows == 0) return;
  if (small_gemm<T>(rows, N, K, X, ldx, W, transposed, beta, C, ldc)) return;
  const int m = int(N), n = int(rows), k = int(K), lda = int(transposed ? K : N), ldb = int(ldx), ldcc = int(ldc);
  const T one = T(1);
  const char* op = transposed ? "T" : "N";
  // Column-major view: Cᵀ (N, rows) = op(W)ᵀ (N, K) · Xᵀ (K, rows); W (K, N) row-major is
  // Wᵀ column-major, W (N, K) row-major needs the "T".
  if constexpr (std::is_same_v<T, float>) {
    if (sgemm_ && use_blas()) return sgemm_(op, "N", &m, &n, &k, &one, W, &lda, X, &ldb, &beta, C, &ldcc);
  } else {
    if (dgemm_ && use_blas()) return dgemm_(op, "N", &m, &n, &k, &one, W, &lda, X, &ldb, &beta, C, &ldcc);
  }
  const auto opts = at::TensorOptions().dtype(c10::CppTypeToScalarType<T>::value);
  Tensor x = at::from_blob(const_cast<T*>(X), {rows, K}, {ldx, 1}, opts);
  Tensor w = transposed ? at::from_blob(const_cast<T*>(W), {N, K}, opts).t()
                        : at::from_blob(const_cast<T*>(W), {K, N}, opts);  // (K, N) either way
  Tensor c = at::from_blob(C, {rows, N}, {ldc, 1}, opts);
  if (beta == T(0)) {
    at::mm_out(c, x, w);
  } else {
    c.addmm_(x, w, beta);
  }
}

// C = beta·C + X·op(W) for a fixed W and a fixed number of rows, through MKL's packed
// GEMM: W is packed once (about one GEMM's cost, 0.7 ms for 2048×512), then each call
// skips MKL's own per-call packing. At B = 32 (16) rows, W_hh 2048×512, one thread of an
// Intel Xeon: 27.8 (16.8) ms per 64 steps against 30.7 (20.1) ms unpacked. Only for
// float, only where the symbols exist, only for weights above the small-GEMM limit;
// ok() says whether it took; callers fall back to gemm_rows otherwise (and for calls
// with another row count).
// Packing costs about one GEMM of the whole batch: worth it from this many steps on.
constexpr int64_t kMinPackSteps = 8;

struct PackedWeight {
  Tensor buf;
  int64_t rows = 0, N = 0, K = 0;
  bool ok() const { return buf.defined(); }

  template <typename T>
  PackedWeight(int64_t rows_, int64_t N_, int64_t K_, const T* W, bool transposed) : rows(rows_), N(N_), K(K_) {
    if constexpr (std::is_same_v<T, float>) {
      if (!cblas_sgemm_pack_get_size || !cblas_sgemm_pack || !cblas_sgemm_compute || !use_blas()) return;
      if (rows <= 0 || N * K <= small_gemm_limit()) return;
      constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112, kBMatrix = 162;
      const size_t bytes = cblas_sgemm_pack_get_size(kBMatrix, int(rows), int(N), int(K));
      buf = at::empty({int64_t(bytes / sizeof(float)) + 16}, at::kFloat);
      // op(W) is (K, N): W (N, K) row-major read transposed, or W (K, N) as it is
      cblas_sgemm_pack(kRowMajor, kBMatrix, transposed ? kTrans : kNoTrans, int(rows), int(N), int(K), 1.0f, W,
                       int(transposed ? K : N), buf.data_ptr<float>());
    }
  }

  // True when it ran (same row count as packed), false when the caller must use gemm_rows.
  template <typename T>
  bool gemm(int64_t n, const T* X, int64_t ldx, T beta, T* C, int64_t ldc) const {
    if constexpr (std::is_same_v<T, float>) {
      if (!ok() || n != rows) return false;
      constexpr int kRowMajor = 101, kNoTrans = 111, kPacked = 151;
      cblas_sgemm_compute(kRowMajor, kNoTrans, kPacked, int(n), int(N), int(K), X, int(ldx), buf.data_ptr<float>(),
                          int(N), beta, C, int(ldc));
      return true;
    }
    return false;
  }
};

// C = beta·C + X·Wᵀ with W (N, K) contiguous (the forward's h_{t-1} W_hhᵀ).
template <typename T>
void gemm_xwt(int64_t rows, int64_t N, int64_t K, const T* X, int64_t ldx, const T* W, T beta, T* C,
              int64_t ldc) {
  gemm_rows<T>(rows, N, K, X, ldx, W, true, beta, C, ldc);
}

// C = beta·C + X·W with W (K, N) contiguous (the backward's dh = dG · W_hh).
template <typename T>
void gemm_xw(int64_t rows, int64_t N, int64_t K, const T* X, int64_t ldx, const T* W, T beta, T* C,
             int64_t ldc) {
  gemm_rows<T>(rows, N, K, X, ldx, W, false, beta, C, ldc);
}// base + h @ W^T on oneDNN with a weight packed by torch.ops.mkldnn._reorder_linear_weight.
inline Tensor onednn_add(const Tensor& h, const Tensor& base, const Tensor& packed) {
  static const auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("mkldnn::_linear_pointwise", "binary");
  torch::jit::Stack stack{h, base, packed, c10::IValue(), c10::IValue(std::string("add"))};
  op.callBoxed(&stack);
  return stack[0].toTensor();
}

// h @ W^T (+ bias) on oneDNN.
inline Tensor onednn_linear(const Tensor& h, const Tensor& packed, const std::optional<Tensor>& bias) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("mkldnn::_linear_pointwise", "");
  torch::jit::Stack stack{h,
                          packed,
                          given(bias) ? c10::IValue(*bias) : c10::IValue(),
                          c10::IValue(std::string("none")),
                          c10::IValue(c10::List<std::optional<at::Scalar>>()),
                          c10::IValue(std::string(""))};
  op.callBoxed(&stack);
  return stack[0].toTensor();
}

// Batch rows never interact, so each thread takes a block of rows and runs the whole
// time loop on it: its own GEMMs (single-threaded inside the parallel region) and
// elementwise passes, with no synchronisation between steps. Calls with less than
// kMinParallelWork multiply-adds in all stay on one thread (waking a second one costs
// more). rnnkit/nn/kernels/__init__.py mirrors this split to pack oneDNN weights.
constexpr int64_t kMinParallelWork = int64_t(1) << 22;

// row_work: multiply-adds per row and step (N·K of the recurrent GEMM).
inline int64_t rows_per_thread(int64_t B, int64_t T, int64_t row_work) {
  int64_t n = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), B));
  if (B * T * row_work < kMinParallelWork) n = 1;
  return std::max<int64_t>(1, (B + n - 1) / n);
}

inline void over_row_blocks(int64_t B, int64_t T, int64_t row_work,
                            const std::function<void(int64_t, int64_t)>& body) {
  if (B <= 0) return;  // an empty batch: nothing to run
  const int64_t per = rows_per_thread(B, T, row_work);
  const int64_t n = (B + per - 1) / per;
  if (n == 1) {
    MklSingleThread one;
    body(0, B);
    return;
  }
  const at::ThreadLocalState caller;  // inference/grad mode and dispatch keys, for the workers
  at::parallel_for(0, n, 1, [&](int64_t k0, int64_t k1) {
    at::ThreadLocalStateGuard guard(caller);
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t r0 = k * per, r1 = std::min(B, r0 + per);
      if (r0 < r1) body(r0, r1);
    }
  });
}

}  // namespace rnnkit_kernels
