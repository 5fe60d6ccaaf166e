"""Readers and batching for rnnkit's tasks.

- forecasting: :mod:`~rnnkit.data.timeseries` (CSV → validated series),
  :mod:`~rnnkit.data.frequency` (time grids),
  :mod:`~rnnkit.data.panel` (long frames -> padded, masked panels for the Forecaster);
- text: :mod:`~rnnkit.data.text` (UTF-8 corpus, vocabulary, truncated-BPTT batches);
- classification and speech: :mod:`~rnnkit.data.ts_format` (.ts files),
  :mod:`~rnnkit.data.audio` (WAV, log-mel/MFCC), :mod:`~rnnkit.data.sequences`
  (variable-length collation), :mod:`~rnnkit.data.splits` (labels, groups, disjoint splits),
  :mod:`~rnnkit.data.classify_inputs`.

Submodules are imported on use; this package imports nothing at load time.
"""
