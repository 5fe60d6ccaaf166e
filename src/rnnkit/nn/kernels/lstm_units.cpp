// Test and benchmark hooks of the LSTM loops' thread split (lstm_units.h).
#include <torch/library.h>

#include "lstm_units.h"

namespace rnnkit_kernels {

// Test and benchmark hooks: the split the rule picks for a plain LSTM call (0 = batch
// rows, else unit blocks); forcing one (0 = the rule, 1 = rows, 2 = units; returns the
// old mode); how many loops ran on the unit split.
int64_t lstm_split(int64_t B, int64_t T, int64_t H, int64_t threads) { return lstm_unit_parts(B, T, H, threads, true); }
int64_t set_lstm_split_mode(int64_t mode) {
  const int old = lstm_split_mode();
  lstm_split_mode() = int(mode);
  return old;
}

TORCH_LIBRARY_FRAGMENT(rnnkit, m) {
  m.def("_lstm_split(int B, int T, int H, int threads) -> int", &lstm_split);
  m.def("_lstm_split_mode(int mode) -> int", &set_lstm_split_mode);
  m.def("_lstm_unit_split_runs() -> int", +[]() -> int64_t { return unit_split_runs().load(); });
  m.def("_lstm_split_profile(bool on) -> float[]", +[](bool on) -> std::vector<double> {
    lstm_split_profile() = on;
    return lstm_split_cpu();
  });
}

}  // namespace rnnkit_kernels
