"""The folder of a saved text model: ``load_charlm`` (the network and its vocabulary, from
``model.json`` and ``model.safetensors``, what ``rnnkit text train`` and ``LanguageModel.save``
write) and ``read_params`` (the ``LanguageModel``'s arguments in ``estimator.json``)."""
from __future__ import annotations

import json
from pathlib import Path

from rnnkit.data.text import Vocab
from rnnkit.errors import CheckpointError, DataError
from rnnkit.models.charlm import CharLM
from rnnkit.models.registry import task_of, untagged
from rnnkit.training.checkpoint import load_model

__all__ = ["PARAMS_FILE", "load_charlm", "read_params"]

PARAMS_FILE = "estimator.json"  # beside model.json: the constructor arguments of a saved LanguageModel


def load_charlm(model_dir: Path, what: str = "--model") -> tuple[CharLM, Vocab]:
    """Load a trained network and its vocabulary from a run folder (its ``model/``) or a model
    folder; ``what`` names the argument in the error for a path that does not exist."""
    model_dir = Path(model_dir)
    if not model_dir.exists():
        raise CheckpointError(f"{what}: {str(model_dir)!r} does not exist")
    if (model_dir / "model" / "model.json").is_file():
        model_dir = model_dir / "model"

    vocab_holder: dict = {}

    def build(config: dict) -> CharLM:
        where = str(model_dir / "model.json")
        task = task_of(config, where)  # format 0 files (no tag) too
        if task != "text":
            raise CheckpointError(f"{where!r}: holds a {task} model, not a text model")
        args = untagged(config)
        try:
            vocab_holder["vocab"] = Vocab.from_dict({"chars": args.pop("vocab")})
        except (KeyError, DataError) as err:
            where = str(model_dir / "model.json")
            raise CheckpointError(f"{where!r}: no usable vocabulary ({err})") from None
        return CharLM(**args)

    model, _ = load_model(model_dir, build)
    vocab = vocab_holder["vocab"]
    if len(vocab) != model.model_config["vocab_size"]:
        raise CheckpointError(f"{str(model_dir / 'model.json')!r}: vocab has {len(vocab)} symbols "
                              f"but vocab_size is {model.model_config['vocab_size']}")
    model.eval()
    return model, vocab


def read_params(path: Path, known: set[str]) -> dict:
    """The constructor arguments in ``estimator.json``, refused in one line unless a table of
    known arguments holding JSON scalars."""
    try:
        params = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CheckpointError(f"{str(path)!r}: not readable JSON ({err})") from None
    if not isinstance(params, dict) or not set(params) <= known or not all(
            v is None or isinstance(v, (bool, int, float, str)) for v in params.values()):
        raise CheckpointError(f"{str(path)!r}: expected a table of LanguageModel arguments "
                              f"({', '.join(sorted(known))}) holding numbers, strings, booleans or null")
    return params
