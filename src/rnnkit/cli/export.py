"""``rnnkit export``: a trained model to TorchScript or ONNX, checked against eager PyTorch.

    rnnkit export --model runs/jv --format onnx --out jv.onnx          # export + check
    rnnkit export --model runs/jv --format torchscript --out jv.pt --no-check

The check (on by default) runs batch sizes 1 and 4 at three sequence lengths from a
random non-zero state, on random inputs and, with ``--data FILE``, on real ones, and
compares with eager PyTorch (ONNX Runtime for ONNX, a
reload for TorchScript) at rtol 1e-4, atol 1e-5; a mismatch is an error (exit 2) and
the file is removed. Beside FILE it writes FILE.json naming the inputs, outputs and
dynamic axes. See docs/export.md.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

__all__ = ["register", "export"]


def export(
    model: Annotated[Path, typer.Option("--model", metavar="PATH", help="Run folder or model folder to export.")],
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="torchscript or onnx.")],
    out: Annotated[Path, typer.Option("--out", metavar="PATH", help="File to write.")],
    check: Annotated[bool, typer.Option("--check/--no-check", help="Compare with eager PyTorch.")] = True,
    data: Annotated[Optional[Path], typer.Option(
        "--data", metavar="PATH", help="Real inputs for the check too: a text file (text models) or a .ts/WAV file (classifiers)."
    )] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the check's figures as JSON.")] = False,
) -> None:
    """Export a trained model with its recurrent state as explicit input and output."""
    from rnnkit.export.core import (
        ExportError, check_export, export_model, load_for_export, real_inputs, window_caveat, write_description,
    )

    spec = load_for_export(model)
    caveat = window_caveat(spec)
    if caveat:
        typer.echo(f"warning: {caveat}", err=True)
    real = real_inputs(spec, data) if data is not None and check else None  # bad data fails early
    path = export_model(spec, out, fmt)
    write_description(spec, path)
    if not check:
        typer.echo(f"wrote {path} ({spec.kind} model, {fmt}); not checked")
        return
    try:
        report = check_export(spec, path, fmt, real=real)
    except ExportError:
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".json").unlink(missing_ok=True)
        raise
    if as_json:
        typer.echo(json.dumps(report))
        return
    typer.echo(f"wrote {path} ({spec.kind} model, {fmt})")
    typer.echo(f"check against eager PyTorch (rtol {report['rtol']}, atol {report['atol']}):")
    typer.echo(f"{'input':>6} {'batch':>5} {'time':>5} {'exported vs eager':>18} {'streaming vs model':>19}")
    for row in report["cases"]:
        typer.echo(f"{row['input']:>6} {row['batch']:>5} {row['time']:>5} {row['exported_vs_eager']:>18.2e} "
                   f"{row['wrapper_vs_model']:>19.2e}")
    typer.echo(f"ok: max |difference| {report['max_abs_diff']:.2e}")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
