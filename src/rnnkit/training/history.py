"""Per-epoch metrics as CSV, rewritten atomically after every epoch."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from rnnkit.training.atomic import atomic_write_bytes

__all__ = ["write_metrics_csv", "read_metrics_csv"]


def write_metrics_csv(path: str | Path, history: list[dict]) -> None:
    """One row per epoch; columns in first-seen order; None is written as an empty cell."""
    columns: list[str] = []
    for row in history:
        for key in row:
            if key not in columns:
                columns.append(key)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    atomic_write_bytes(Path(path), buf.getvalue().encode("utf-8"))


def read_metrics_csv(path: str | Path) -> list[dict]:
    """Rows as dicts of floats (empty cells become None)."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        return [
            {k: (float(v) if v != "" else None) for k, v in row.items()}
            for row in csv.DictReader(fh)
        ]
