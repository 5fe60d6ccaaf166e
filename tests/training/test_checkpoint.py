"""Checkpoint folders: round trip, atomic swap, and refusing hostile or broken files."""
from __future__ import annotations

import builtins
import pickle
import struct

import pytest
import torch

from rnnkit.errors import CheckpointError
from rnnkit.models import RecurrentModel
from rnnkit.training import checkpoint as ckpt
from rnnkit.training import load_model, load_state, save_checkpoint, save_model


def _model() -> RecurrentModel:
    return RecurrentModel(2, 4, 1, cell="gru")


def test_save_and_load_model_round_trip(tmp_path):
    model = _model()
    save_model(tmp_path / "m", model, model.model_config)
    loaded, cfg = load_model(tmp_path / "m", RecurrentModel.from_config)
    assert cfg == model.model_config
    for name, t in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], t)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "model.safetensors"]


def test_checkpoint_overwrite_leaves_no_temp_and_keeps_newest(tmp_path):
    model = _model()
    save_checkpoint(tmp_path / "last", model, model.model_config, {"epoch": 1})
    with torch.no_grad():
        model.fc.bias.fill_(3.0)
    save_checkpoint(tmp_path / "last", model, model.model_config, {"epoch": 2})
    assert load_state(tmp_path / "last")["epoch"] == 2
    assert torch.equal(ckpt.read_safetensors(tmp_path / "last" / ckpt.WEIGHTS)["fc.bias"], torch.tensor([3.0]))
    assert [p.name for p in tmp_path.iterdir()] == ["last"]


def test_interrupted_swap_is_recovered(tmp_path):
    # A kill between the two renames of swap_dir leaves only the old folder, aside.
    model = _model()
    save_checkpoint(tmp_path / "last", model, model.model_config, {"epoch": 5})
    (tmp_path / "last").rename(tmp_path / ".tmp-old-last")
    assert load_state(tmp_path / "last")["epoch"] == 5


class _Evil:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


def _hostile_dir(tmp_path, marker):
    d = tmp_path / "hostile"
    d.mkdir()
    payload = pickle.dumps(_Evil(marker))
    for name in (ckpt.WEIGHTS, ckpt.MODEL_JSON, ckpt.STATE):
        (d / name).write_bytes(payload)
    return d


def test_hostile_pickle_files_are_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    d = _hostile_dir(tmp_path, marker)
    with pytest.raises(CheckpointError, match="is not valid JSON"):
        load_model(d, RecurrentModel.from_config)
    with pytest.raises(CheckpointError, match="is a pickle/torch archive, not safetensors; refusing"):
        ckpt.read_safetensors(d / ckpt.WEIGHTS)
    with pytest.raises(CheckpointError, match="is not a torch checkpoint archive; refusing to unpickle"):
        load_state(d)
    assert not marker.exists()


def test_hostile_object_inside_torch_archive_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    d = tmp_path / "ck"
    d.mkdir()
    torch.save({"epoch": 1, "evil": _Evil(marker)}, d / ckpt.STATE)
    with pytest.raises(CheckpointError, match="was refused by the weights-only loader") as err:
        load_state(d)
    assert "\n" not in str(err.value)
    assert not marker.exists()


def test_truncated_safetensors_gives_one_line_error(tmp_path):
    model = _model()
    save_model(tmp_path / "m", model, model.model_config)
    path = tmp_path / "m" / ckpt.WEIGHTS
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 10])
    with pytest.raises(CheckpointError) as err:
        load_model(tmp_path / "m", RecurrentModel.from_config)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{str(path)!r} is truncated: tensor ")
    path.write_bytes(data[:5])
    with pytest.raises(CheckpointError, match=r"is truncated: 5 bytes, no safetensors header"):
        ckpt.read_safetensors(path)
    path.write_bytes(data[:40])
    with pytest.raises(CheckpointError, match=r"is truncated: header says \d+ bytes but the file has 32"):
        ckpt.read_safetensors(path)


def test_oversized_header_gives_one_line_error(tmp_path):
    path = tmp_path / ckpt.WEIGHTS
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(CheckpointError) as err:
        ckpt.read_safetensors(path)
    assert str(err.value) == (
        f"{str(path)!r} has an oversized safetensors header: {2**40} bytes (limit {100 * 1024 * 1024})"
    )


def test_corrupt_header_json(tmp_path):
    path = tmp_path / ckpt.WEIGHTS
    path.write_bytes(struct.pack("<Q", 4) + b"{{{{")
    with pytest.raises(CheckpointError, match="has a corrupt safetensors header"):
        ckpt.read_safetensors(path)


def test_shape_mismatch_names_the_tensor(tmp_path):
    model = _model()
    save_model(tmp_path / "m", model, model.model_config)
    bigger = RecurrentModel(2, 6, 1, cell="gru")
    with pytest.raises(CheckpointError, match=r"'rnn.weight_ih_l0' has shape \(12, 2\) in the checkpoint but \(18, 2\)"):
        ckpt.load_weights_into(bigger, ckpt.read_safetensors(tmp_path / "m" / ckpt.WEIGHTS), "m")


def test_missing_folder(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint folder '.*nope' does not exist"):
        load_model(tmp_path / "nope", RecurrentModel.from_config)


def test_resume_from_a_hostile_run_folder_is_refused(tmp_path):
    from rnnkit.training import TrainConfig, Trainer

    marker = tmp_path / "pwned"
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    hostile = _hostile_dir(tmp_path, marker)
    hostile.rename(run / "checkpoints" / "last")
    model = _model()
    trainer = Trainer(model, TrainConfig(epochs=1, device="cpu", progress=False), run_dir=run)
    with pytest.raises(CheckpointError, match="is not valid JSON"):
        trainer.fit([(torch.randn(2, 3, 2), torch.randn(2, 1))], resume=True)
    # A genuine model.json next to the hostile weights and state: still refused.
    (run / "checkpoints" / "last" / ckpt.MODEL_JSON).write_text(__import__("json").dumps(model.model_config))
    with pytest.raises(CheckpointError, match="is a pickle/torch archive, not safetensors; refusing"):
        trainer.fit([(torch.randn(2, 3, 2), torch.randn(2, 1))], resume=True)
    assert not marker.exists()


def test_model_json_that_cannot_build(tmp_path):
    model = _model()
    save_model(tmp_path / "m", model, {"input_size": 2})
    with pytest.raises(CheckpointError, match=r"model.json' cannot build the model: "):
        load_model(tmp_path / "m", RecurrentModel.from_config)


def test_a_save_never_replaces_a_folder_holding_other_files(tmp_path):
    # A save replaces its whole folder: a folder with the user's own files, or a file, is refused
    # in one line and left as it was (a Classifier saved into a folder of notes deleted them).
    model = _model()
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "notes.txt").write_text("keep")
    (mine / "sub" / "x.txt").write_text("keep too")
    with pytest.raises(CheckpointError, match=r"holds files that are not a saved model's \(notes.txt, sub/\)"):
        save_model(mine, model, model.model_config)
    assert (mine / "notes.txt").read_text() == "keep" and (mine / "sub" / "x.txt").read_text() == "keep too"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no temporary left beside it
    (mine / "sub" / "x.txt").unlink(), (mine / "notes.txt").unlink()
    with pytest.raises(CheckpointError, match=r"\(sub/\)"):  # an empty sub-folder is not a model's either
        save_model(mine, model, model.model_config)
    a_file = tmp_path / "model.bin"
    a_file.write_bytes(b"data")
    with pytest.raises(CheckpointError, match="is a file, not a folder"):
        save_model(a_file, model, model.model_config)
    assert a_file.read_bytes() == b"data"
    with pytest.raises(CheckpointError, match="cannot be written"):  # a file where a parent folder should be
        save_model(a_file / "m", model, model.model_config)


def test_a_save_replaces_an_earlier_model_folder_and_an_empty_one(tmp_path):
    model = _model()
    (tmp_path / "empty").mkdir()
    save_model(tmp_path / "empty", model, model.model_config)
    save_checkpoint(tmp_path / "m", model, model.model_config, {"epoch": 1})  # weights, model.json, state.pt
    (tmp_path / "m" / "partner.safetensors").write_bytes(b"")  # what another task's save added
    save_model(tmp_path / "m", model, model.model_config, extra={"estimator.json": b"{}"})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["estimator.json", "model.json",
                                                                   "model.safetensors"]


def test_folder_files_name_every_file_a_task_saves():
    from rnnkit.tasks.classify.partner import PARTNER_FILE
    from rnnkit.tasks.classify.persist import SECOND_FILE
    from rnnkit.tasks.text.saved import PARAMS_FILE

    assert {PARTNER_FILE, SECOND_FILE, PARAMS_FILE} <= ckpt.FOLDER_FILES
