"""Every source folder is a regular package, so setuptools' find_packages ships it."""
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "rnnkit"


def test_every_python_folder_has_an_init():
    folders = {p.parent for p in SRC.rglob("*.py") if "__pycache__" not in p.parts}
    missing = sorted(str(f.relative_to(SRC)) for f in folders if not (f / "__init__.py").exists())
    assert missing == []


def test_bundled_data_folders_say_where_the_data_comes_from():
    areas = [p for p in (SRC / "datasets").iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert areas
    for area in areas:
        assert list(area.rglob("PROVENANCE.md")), f"{area.name} has no PROVENANCE.md"
