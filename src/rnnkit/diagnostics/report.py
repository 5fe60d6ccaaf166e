"""The sweep's table as text: one row per (cell, T)."""
from __future__ import annotations

__all__ = ["table"]

_NAMES = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU", "mingru": "MinGRU"}


def table(summary: dict) -> str:
    """``summary`` as :func:`rnnkit.diagnostics.sweep.diagnose` returns it."""
    rows = summary["results"]
    metric = rows[0]["metric"] if rows else "score"
    lines = [
        f"task: {summary['task']}   ({metric} on held-out data; span = effective memory span, "
        "in steps, before -> after training)",
        "",
        f"{'cell':<10} {'T':>5}  {'solved':<6} {'steps':>6}  {metric:>12}  {'span':>12}",
    ]
    for r in rows:
        span = f"{r['span_before']} -> {r['effective_span']}"
        lines.append(f"{_NAMES.get(r['cell'], r['cell']):<10} {r['T']:>5}  "
                     f"{'yes' if r['solved'] else 'no':<6} {r['steps']:>6}  "
                     f"{r['score']:>12.4g}  {span:>12}")
    return "\n".join(lines)
