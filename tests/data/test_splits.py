"""Folder scanning (ImageFolder or regex labels), group keys and group-disjoint splits."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.io import wavfile

from rnnkit.data.splits import group_disjoint_split, scan_folder
from rnnkit.errors import DataError

DIGITS = Path(__file__).resolve().parents[2] / "src" / "rnnkit" / "datasets" / "speech" / "spoken_digits_synth"


def _wav(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, 8000, np.zeros(400, dtype=np.int16))
    return path


def test_label_and_group_patterns_on_bundled_digits():
    files = scan_folder(DIGITS, label_pattern=r"^(\d)_", group_pattern=r"^\d_(.+)\.wav$")
    assert len(files) == 890  # PROVENANCE.md beside the WAVs is skipped
    assert {f.label for f in files} == {str(d) for d in range(10)}
    assert len({f.group for f in files}) == 89
    three = next(f for f in files if f.path.name == "3_festival-kal-v2.wav")
    assert (three.label, three.group) == ("3", "festival-kal-v2")
    engines = scan_folder(DIGITS, label_pattern=r"^(\d)_", group_pattern=r"^\d_([a-z]+)-")
    assert sorted({f.group for f in engines}) == ["espeak", "festival", "flite"]


def test_image_folder_convention_and_whole_match(tmp_path):
    _wav(tmp_path / "yes" / "a_s1.wav")
    _wav(tmp_path / "yes" / "deeper" / "b_s2.WAV")
    _wav(tmp_path / "no" / "c_s1.wav")
    (tmp_path / "no" / "notes.txt").write_text("skipped")
    _wav(tmp_path / ".hidden" / "d_s3.wav")
    files = scan_folder(tmp_path, group_pattern=r"s\d")  # no group: the whole match is the key
    assert [(f.path.name, f.label, f.group) for f in files] == [
        ("c_s1.wav", "no", "s1"), ("a_s1.wav", "yes", "s1"), ("b_s2.WAV", "yes", "s2")]
    # Without a group pattern each file is its own group.
    assert len({f.group for f in scan_folder(tmp_path)}) == 3


def test_folder_errors(tmp_path):
    with pytest.raises(DataError) as err:
        scan_folder(tmp_path)
    assert str(err.value) == f"{tmp_path}: folder has no class sub-folders"
    with pytest.raises(DataError) as err:
        scan_folder(tmp_path, label_pattern="(x)")
    assert str(err.value) == f"{tmp_path}: folder holds no .wav files"
    (tmp_path / "cls").mkdir()
    (tmp_path / "cls" / "readme.md").write_text("x")
    with pytest.raises(DataError) as err:
        scan_folder(tmp_path)
    assert str(err.value) == f"{tmp_path}/cls: class folder holds no .wav files"
    with pytest.raises(DataError) as err:
        scan_folder(tmp_path / "missing")
    assert str(err.value) == f"{tmp_path}/missing: not a folder of WAV files"


def test_audio_in_other_formats_is_named_when_left_out(tmp_path):
    _wav(tmp_path / "yes" / "a.wav")
    _wav(tmp_path / "yes" / "b.WAVE")  # the other WAV spelling is read
    (tmp_path / "yes" / "c.flac").write_bytes(b"fLaC")
    (tmp_path / "no" / "deeper").mkdir(parents=True)
    _wav(tmp_path / "no" / "d.wav")
    (tmp_path / "no" / "deeper" / "e.MP3").write_bytes(b"ID3")
    (tmp_path / "no" / "f.mp3").write_bytes(b"ID3")
    (tmp_path / "no" / "notes.txt").write_text("not audio: skipped without a word")
    with pytest.warns(UserWarning) as caught:
        files = scan_folder(tmp_path)
    assert sorted(f.path.name for f in files) == ["a.wav", "b.WAVE", "d.wav"]
    assert [str(w.message) for w in caught] == [
        f"{tmp_path}: 3 audio files are not WAV and are left out (1 .flac, 2 .mp3; first: {tmp_path}/no/deeper/e.MP3); "
        "convert to WAV to use them (e.g. ffmpeg -i in.flac out.wav)"]
    # a class folder of FLAC only: the error says why it holds no WAV
    (tmp_path / "maybe").mkdir()
    (tmp_path / "maybe" / "g.flac").write_bytes(b"fLaC")
    with pytest.raises(DataError) as err:
        scan_folder(tmp_path)
    assert str(err.value) == (f"{tmp_path}/maybe: class folder holds no .wav files (1 audio file is not WAV and is "
                              f"left out (1 .flac; first: {tmp_path}/maybe/g.flac); convert to WAV to use them "
                              "(e.g. ffmpeg -i in.flac out.wav))")


def test_flat_folder_hints_at_label_pattern(tmp_path):
    _wav(tmp_path / "1_a.wav")
    with pytest.raises(DataError) as err:
        scan_folder(tmp_path)
    assert str(err.value) == f"{tmp_path}: folder has no class sub-folders (give --label-pattern to take labels from file names)"


def test_patterns_that_match_nothing_or_are_invalid(tmp_path):
    path = _wav(tmp_path / "1_a.wav")
    with pytest.raises(DataError) as err:
        scan_folder(tmp_path, label_pattern=r"^(\d)_", group_pattern=r"spk(\d+)")
    assert str(err.value) == f"{path}: --group-pattern 'spk(\\d+)' does not match the file name '1_a.wav'"
    with pytest.raises(DataError) as err:
        scan_folder(tmp_path, label_pattern=r"^z(\d)")
    assert str(err.value) == f"{path}: --label-pattern '^z(\\d)' does not match the file name '1_a.wav'"
    with pytest.raises(DataError, match=r"^--label-pattern '\(\[' is not a valid regular expression: "):
        scan_folder(tmp_path, label_pattern="([")
    with pytest.raises(DataError) as err:
        scan_folder(tmp_path, label_pattern=r"^(x?)1")
    assert str(err.value) == f"{path}: --label-pattern '^(x?)1' matches '1_a.wav' but captures an empty key"


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(st.sampled_from("abcdefgh"), min_size=2, max_size=40).filter(lambda g: len(set(g)) >= 2),
    fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 1000),
)
def test_group_disjoint_split_property(groups, fraction, seed):
    keep, held = group_disjoint_split(groups, fraction, seed)
    assert sorted(keep + held) == list(range(len(groups)))  # a partition
    assert keep and held
    assert not {groups[i] for i in keep} & {groups[i] for i in held}  # no group on both sides
    assert group_disjoint_split(groups, fraction, seed) == (keep, held)  # deterministic


def test_split_of_forty_speakers_holds_out_ten():
    groups = [f"{s:02d}" for s in range(40) for _ in range(10)]
    keep, held = group_disjoint_split(groups, 0.25, seed=0)
    assert len({groups[i] for i in held}) == 10 and len(held) == 100


def test_split_errors():
    with pytest.raises(DataError, match=r"^a group-disjoint split needs at least 2 groups, got 1: \['a'\]$"):
        group_disjoint_split(["a", "a"], 0.5)
    with pytest.raises(DataError, match=r"^split fraction must be in \(0, 1\), got 1.0$"):
        group_disjoint_split(["a", "b"], 1.0)
