"""Bundled small real data sets, found through ``importlib.resources``.

Each area is a folder here (``forecasting/``, ``classification/``, ``speech/`` ...) that
holds a ``PROVENANCE.md`` (source and licence) next to its files. An area only has to
add its folder: :func:`list_datasets` discovers it. In ``PROVENANCE.md`` the first
``# `` heading names the area, and a table row whose first cell is an entry's name
(optionally in backticks) gives that entry's description.

An entry is a file, or a sub-folder counted as one data set (for example a folder of
WAV files). An area folder without its own ``PROVENANCE.md`` lists each sub-folder that
has one, described by that note's heading. :func:`dataset_path` returns a real path to one, for readers that need one.

The forecasting series also have defaults (time and target column, horizon, season)
in :data:`FORECAST_SERIES`, so that ``rnnkit forecast train --data airline`` works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rnnkit.errors import DataError

__all__ = [
    "DEFAULT_FORECAST_SERIES",
    "FORECAST_SERIES",
    "DatasetInfo",
    "SeriesInfo",
    "dataset_path",
    "datasets_root",
    "forecast_series",
    "list_datasets",
]

PROVENANCE = "PROVENANCE.md"
_SKIP = {PROVENANCE, "__init__.py", "__pycache__", ".DS_Store"}


@dataclass(frozen=True)
class DatasetInfo:
    """One bundled data set: ``area/name``, its path, size and one-line description."""

    area: str
    name: str
    path: Path
    files: int
    bytes: int
    description: str


@dataclass(frozen=True)
class SeriesInfo:
    """A bundled forecasting series and the settings its benchmark uses."""

    file: str
    time_col: str
    target: str
    horizon: int
    season: int
    missing: str = "error"


# The four bundled series with the horizons and seasons of the target table.
FORECAST_SERIES: dict[str, SeriesInfo] = {
    "airline": SeriesInfo("airline_passengers.csv", "Date", "Passengers", 12, 12),
    "sunspots": SeriesInfo("sunspots_yearly.csv", "year", "sunspots", 20, 11),
    "elec_equip": SeriesInfo("elec_equip_monthly.csv", "month", "orders_index", 12, 12),
    "co2": SeriesInfo("co2_weekly.csv", "week", "co2", 52, 52, missing="interpolate"),
}
DEFAULT_FORECAST_SERIES = "airline"


def datasets_root() -> Path:
    """The folder of bundled data (a real directory: the package ships unzipped)."""
    return Path(str(resources.files("rnnkit.datasets")))


def _areas(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def _descriptions(provenance: Path) -> tuple[str, dict[str, str]]:
    """(area title, {entry name: description}) read from a PROVENANCE.md."""
    title, rows = "", {}
    for line in provenance.read_text(encoding="utf-8").splitlines():
        if not title and line.startswith("# "):
            title = line[2:].strip()
        cells = (
            [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        )
        if len(cells) >= 2 and not set(cells[0]) <= set("-: "):
            name = cells[0].strip("`").strip()
            rows[name] = cells[-1].strip("`")
    return title, rows


def _size(path: Path) -> tuple[int, int]:
    if path.is_file():
        return 1, path.stat().st_size
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def list_datasets() -> list[DatasetInfo]:
    """Every bundled data set of every area, sorted by area then name."""
    out = []
    for area in _areas(datasets_root()):
        if (area / PROVENANCE).is_file():
            title, rows = _descriptions(area / PROVENANCE)
            entries = [e for e in sorted(area.iterdir()) if e.name not in _SKIP]
        else:  # no area-level note: each sub-folder with its own PROVENANCE.md is a data set
            entries = [e for e in sorted(area.iterdir()) if (e / PROVENANCE).is_file()]
            title, rows = "", {e.name: _descriptions(e / PROVENANCE)[0] for e in entries}
        for entry in entries:
            if entry.name.startswith("."):
                continue
            files, size = _size(entry)
            desc = rows.get(entry.name) or rows.get(entry.name + "/") or title
            out.append(DatasetInfo(area.name, entry.name, entry, files, size, desc))
    return out


def dataset_path(area: str, name: str) -> Path:
    """Path of the bundled ``area/name``; a :class:`DataError` lists what exists if absent."""
    path = datasets_root() / area / name
    if (
        not re.fullmatch(r"[\w.-]+", area)
        or not re.fullmatch(r"[\w.-]+", name)
        or not path.exists()
    ):
        known = ", ".join(f"{d.area}/{d.name}" for d in list_datasets())
        raise DataError(f"bundled dataset {area}/{name!s} does not exist; bundled: {known}")
    return path


def forecast_series(name: str) -> tuple[Path, SeriesInfo]:
    """The bundled forecasting series ``name`` (airline, sunspots, elec_equip, co2)."""
    info = FORECAST_SERIES.get(name)
    if info is None:
        raise DataError(
            f"--data {name!r} is neither a file nor a bundled series "
            f"(one of {', '.join(FORECAST_SERIES)})"
        )
    return dataset_path("forecasting", info.file), info
