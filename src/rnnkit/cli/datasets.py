"""``rnnkit datasets``: list the bundled data sets of every area, with size and description."""

from __future__ import annotations

import typer

from rnnkit.datasets import list_datasets

__all__ = ["format_table", "register"]


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def format_table(rows) -> str:
    """A plain aligned table: area/name, files, size, description."""
    lines = [("dataset", "files", "size", "description")]
    lines += [(f"{d.area}/{d.name}", str(d.files), _human(d.bytes), d.description) for d in rows]
    widths = [max(len(r[i]) for r in lines) for i in range(3)]
    return "\n".join(
        f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip()
        for r in lines
    )


def register(app: typer.Typer) -> None:
    @app.command("datasets")
    def datasets(
        area: str = typer.Option(None, metavar="NAME", help="Only this area (forecasting, classification, ...)."),
    ) -> None:
        """List the small real data sets bundled with rnnkit (see each PROVENANCE.md)."""
        rows = [d for d in list_datasets() if area is None or d.area == area]
        typer.echo(format_table(rows))
