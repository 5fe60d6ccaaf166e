"""`rnnkit datasets` discovers every area's bundled data from its PROVENANCE.md."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.datasets import dataset_path, list_datasets
from rnnkit.errors import DataError

runner = CliRunner()


def test_lists_the_forecasting_series_with_descriptions():
    result = runner.invoke(app, ["datasets", "--area", "forecasting"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["dataset", "files", "size", "description"]
    names = [line.split()[0] for line in lines[1:]]
    assert names == [
        f"forecasting/{n}"
        for n in (
            "airline_passengers.csv",
            "co2_weekly.csv",
            "elec_equip_monthly.csv",
            "sunspots_yearly.csv",
        )
    ]
    assert "monthly international airline passengers" in result.stdout


def test_every_area_folder_with_a_provenance_is_listed():
    areas = {d.area for d in list_datasets()}
    assert "forecasting" in areas
    for d in list_datasets():
        assert d.path.exists() and d.bytes > 0 and d.description


def test_dataset_path_errors():
    assert dataset_path("forecasting", "co2_weekly.csv").is_file()
    with pytest.raises(
        DataError, match=r"bundled dataset forecasting/nope.csv does not exist; bundled: "
    ):
        dataset_path("forecasting", "nope.csv")
