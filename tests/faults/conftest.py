"""The fault and bad-input suite: markers by area.

    pytest tests/faults                    # the quick cases (part of the default suite)
    pytest tests/faults -m slow            # the long ones (real torchrun restarts, big sweeps)
    pytest tests -m "hostile_files"        # one area, wherever its tests live

``kill`` also selects the SIGKILL-mid-epoch exact-resume test, and ``hostile_files`` the
checkpoint reader's own hostile-file tests; they live with the trainer (tests/training)
and are reused here rather than duplicated (``REUSED`` below).
"""
from __future__ import annotations

MARKERS = {
    "hostile_files": "fault suite: hostile or broken model files are refused cleanly",
    "bad_csv": "fault suite: property-based bad CSVs parse or raise the one-line DataError",
    "unwritable": "fault suite: an unwritable output folder is an error, never silent loss",
    "kill": "fault suite: killed processes and ranks resume to the uninterrupted result",
    "fuzz": "fault suite: the seeded fuzzer over CSV, text, .ts, WAV and model folders",
}

# Tests elsewhere that belong to an area of this suite.
REUSED = {
    "tests/training/test_resume.py::test_sigkill_mid_epoch_then_resume_is_bit_identical": "kill",
    "tests/training/test_checkpoint.py::test_hostile_pickle_files_are_refused_without_running": "hostile_files",
    "tests/training/test_checkpoint.py::test_hostile_object_inside_torch_archive_is_refused": "hostile_files",
    "tests/training/test_checkpoint.py::test_truncated_safetensors_gives_one_line_error": "hostile_files",
    "tests/training/test_checkpoint.py::test_oversized_header_gives_one_line_error": "hostile_files",
    "tests/training/test_checkpoint.py::test_resume_from_a_hostile_run_folder_is_refused": "hostile_files",
}


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        area = REUSED.get(item.nodeid)
        if area is not None:
            item.add_marker(getattr(pytest.mark, area))
