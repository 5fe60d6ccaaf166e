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


def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_all_extra_is_every_optional_dependency_but_dev_and_bench():
    """`all` is what a user may want; `dev` (the test tools) and `bench` (benchmark-only data
    and peers, which caps pandas below 3) are for working on rnnkit itself."""
    from packaging.requirements import Requirement

    extras = _pyproject()["project"]["optional-dependencies"]
    assert "all" in extras
    wanted = {str(Requirement(r)) for name, reqs in extras.items()
              if name not in ("all", "dev", "bench") for r in reqs}
    assert {str(Requirement(r)) for r in extras["all"]} == wanted
    assert {"stats", "onnx", "tensorboard", "kernels"} <= set(extras)


def test_metadata_has_urls_and_official_classifiers(monkeypatch):
    from setuptools.config.pyprojecttoml import read_configuration
    from trove_classifiers import classifiers as official

    monkeypatch.setenv("VALIDATE_PYPROJECT_NO_NETWORK", "1")
    project = read_configuration(SRC.parents[1] / "pyproject.toml")["project"]  # schema-checked
    urls = project["urls"]
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    classifiers = project["classifiers"]
    assert [c for c in classifiers if c not in official] == []
    assert "License :: OSI Approved :: MIT License" in classifiers
    lowest = project["requires-python"].removeprefix(">=")
    assert f"Programming Language :: Python :: {lowest}" in classifiers


def test_each_task_object_is_at_the_top_and_import_stays_light():
    """`from rnnkit import Forecaster` (and Classifier, SpeechClassifier, LanguageModel): the
    object of each task, imported on first use, so `import rnnkit` alone loads no torch."""
    import subprocess
    import sys

    code = ("import sys, rnnkit; light = 'torch' not in sys.modules; "
            "from rnnkit import Forecaster, Classifier, SpeechClassifier, LanguageModel; "
            "from rnnkit.tasks.forecast.estimator import Forecaster as F; "
            "from rnnkit.tasks.classify import Classifier as C, SpeechClassifier as S; "
            "from rnnkit.tasks.text import LanguageModel as L; "
            "assert (Forecaster, Classifier, SpeechClassifier, LanguageModel) == (F, C, S, L); "
            "assert {'Forecaster', 'Classifier', 'SpeechClassifier', 'LanguageModel'} <= set(rnnkit.__all__); "
            "print(light)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "PYTHONPATH": str(SRC.parent)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "True"
