"""The digits benchmark's engine folders: leave one engine out, or train on one engine only; every
file lands in exactly one of the two folders, as a link to itself."""
from __future__ import annotations

import pytest

from tests.benchmarks.helpers import load_benchmark


@pytest.fixture(scope="module")
def views():
    return load_benchmark("digits_views")


@pytest.fixture()
def source(tmp_path):
    folder = tmp_path / "words"
    folder.mkdir()
    for name in ("0_espeak-en-m1.wav", "1_espeak-en-m1.wav", "0_festival-kal-v1.wav", "3_flite-slt-v2.wav"):
        (folder / name).write_bytes(name.encode())
    return folder


@pytest.mark.parametrize("only, train_names, test_names", [
    (False, {"0_festival-kal-v1.wav", "3_flite-slt-v2.wav"}, {"0_espeak-en-m1.wav", "1_espeak-en-m1.wav"}),
    (True, {"0_espeak-en-m1.wav", "1_espeak-en-m1.wav"}, {"0_festival-kal-v1.wav", "3_flite-slt-v2.wav"})])
def test_engine_folders_split_the_voices_by_engine(views, source, tmp_path, only, train_names, test_names):
    train, test = views.engine_folders(source, "espeak", tmp_path / "out", only=only)
    assert {p.name for p in train.iterdir()} == train_names and {p.name for p in test.iterdir()} == test_names
    assert train.name == ("train-espeak" if only else "train-no-espeak")
    for link in [*train.iterdir(), *test.iterdir()]:
        assert link.is_symlink() and link.read_bytes() == link.name.encode()


def test_the_one_engine_rows_are_offered_but_not_run_by_default(views):
    assert set(views.ONE_ENGINE_SPLITS) == {"only-espeak", "only-festival", "only-flite"}
    assert not set(views.ONE_ENGINE_SPLITS) & set(views.DIGIT_SPLITS) and not set(views.ONE_ENGINE_SPLITS) & set(
        views.DIGIT_TARGETS)
