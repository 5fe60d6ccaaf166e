"""A fitted `Forecaster` on disk: model.safetensors (the members' weights, the history, the
covariates' values) and forecaster.json (horizon, season, options, weights, band scales, the
members' shapes, the time stamps' kind). No pickle: loading reads data, never code, and every
check fails as one line (``CheckpointError``, or the ``ConfigError`` / ``DataError`` the
options and covariates raise). Files saved before an option existed load with the value it
had then (``_from_saved``).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import save as st_save

from rnnkit.data.panel import NAMES, output_names
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.models.global_forecast import GlobalRNN
from rnnkit.tasks.forecast.calibrate import saved_scales
from rnnkit.tasks.forecast.combine import point_weights
from rnnkit.tasks.forecast.covariates import Covariates
from rnnkit.tasks.forecast.stamps import is_period
from rnnkit.training.atomic import atomic_write_bytes, out_dir, write_json, writing
from rnnkit.training.checkpoint import read_finite_safetensors
from rnnkit.training.jsonio import read_json_object

__all__ = ["FORMAT", "load", "save"]

FORMAT = "rnnkit-forecaster-1"


def save(f, path) -> None:
    """Write ``f``'s weights and history (model.safetensors) and settings (forecaster.json)."""
    if not f.members_:
        raise ConfigError("Forecaster: nothing to save, call fit() first")
    d = out_dir(Path(path), "Forecaster.save:")  # a file in the way, or no permission: one line
    tensors = {f"member{i}.{k}": v.contiguous() for i, m in enumerate(f.members_) for k, v in m.state_dict().items()}
    h = f.history_
    tensors["history.y"] = torch.from_numpy(h["y"].to_numpy(np.float64).copy())
    tensors["history.ds"], stamps = _stamps_out(h["ds"])
    if f.cov_ is not None:  # the fitted covariates, row for row with the history
        tensors["history.covariates"] = torch.from_numpy(np.array(f.cov_.history[f.cov_.columns].to_numpy(np.float64), order="C"))
    with writing("Forecaster.save:", d):  # each file atomic: never seen half-written
        atomic_write_bytes(d / "model.safetensors", st_save(tensors))
    meta = {
        "format": FORMAT, "horizon": f.horizon, "season": f.season, "log": f.log_,
        "options": dataclasses.asdict(f.options), "steps": f.steps_, "weights": list(f.weights_),
        "band_scales": {str(k): v for k, v in f.band_scales_.items()},
        "members": [{"lookback": m.lookback, "segment": m.segment, "normed": m.normed} for m in f.members_],
        "covariates": f.cov_.to_meta() if f.cov_ else None,
        **stamps, "ids": h["unique_id"].tolist(),
        "id_kind": f.id_kind_, "names": list(f.names_),
    }
    with writing("Forecaster.save:", d):
        write_json(d / "forecaster.json", meta)


def _stamps_out(ds: pd.Series) -> tuple[torch.Tensor, dict]:
    """The history's time stamps as one tensor, and what forecaster.json needs to read them back:
    datetimes as int64 counts of the column's own unit (ns in pandas 2, us by default in 3), UTC if
    tz-aware; periods as their int64 ordinals and their type ("period[M]"); other numbers as they are
    (float64 or int64: until the twenty-fourth session fractional stamps were cut to integers)."""
    if is_period(ds):
        return torch.from_numpy(ds.array.asi8.copy()), {"ds_kind": "period", "ds_dtype": str(ds.dtype)}
    if pd.api.types.is_datetime64_any_dtype(ds):
        tz = None if ds.dt.tz is None else str(ds.dt.tz)
        ds = ds.dt.tz_convert(None) if tz else ds
        unit = np.datetime_data(ds.dtype)[0]
        ints = ds.astype("int64").to_numpy(np.int64).copy()
        return torch.from_numpy(ints), {"ds_kind": "datetime", "ds_unit": unit, "ds_tz": tz}
    if pd.api.types.is_integer_dtype(ds):
        return torch.from_numpy(ds.to_numpy(np.int64).copy()), {"ds_kind": "int"}
    return torch.from_numpy(ds.to_numpy(np.float64).copy()), {"ds_kind": "float"}


def _stamps_in(t: torch.Tensor, meta: dict) -> pd.Series:
    """The time stamps ``_stamps_out`` wrote (a kind it does not know, or a tensor of the wrong type: ValueError)."""
    kind, values = meta["ds_kind"], t.numpy()
    want = {"datetime": np.int64, "period": np.int64, "int": np.int64, "float": np.float64}
    if kind not in want or values.dtype != want[kind] or values.ndim != 1:
        raise ValueError(f"history.ds: {values.dtype} values of {values.ndim} dimensions for time stamps of kind "
                         f"{kind!r}, expected one dimension of {np.dtype(want.get(kind, np.int64))} for "
                         f"'datetime', 'period', 'int' or 'float'")
    if kind == "period":
        dtype = pd.api.types.pandas_dtype(meta["ds_dtype"])
        if not is_period(dtype):
            raise ValueError(f"ds_dtype must be a period type such as 'period[M]', got {meta['ds_dtype']!r}")
        return pd.Series(pd.arrays.PeriodArray(values, dtype=dtype))
    if kind == "datetime":
        unit = meta["ds_unit"]
        ds = pd.to_datetime(pd.Series(values), unit=unit).astype(f"datetime64[{unit}]")
        return ds.dt.tz_localize("UTC").dt.tz_convert(meta["ds_tz"]) if meta["ds_tz"] else ds
    return pd.Series(values)


def load(cls, path):
    """A ``cls`` (the Forecaster class) from a folder that ``save`` wrote; every failure one line."""
    d = Path(path)
    if not (d / "forecaster.json").is_file():
        raise CheckpointError(f"{d}: not a saved Forecaster (no forecaster.json)")
    meta = read_json_object(d / "forecaster.json")  # one line: not JSON, too deep, too large
    # the checkpoint module's checks: header read alone first, sizes, finite weights
    tensors = read_finite_safetensors(d / "model.safetensors")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{d}/forecaster.json: format {meta.get('format')!r}, expected {FORMAT!r}")
    try:
        return _from_saved(cls, meta, tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        if isinstance(e, (ConfigError, DataError)):  # already one line
            raise
        why = " ".join(str(e).split())  # load_state_dict's message spans lines
        raise CheckpointError(f"{d}: not a valid saved Forecaster ({type(e).__name__}: {why})") from None


def _from_saved(cls, meta: dict, tensors: dict):
    """The Forecaster that ``meta`` and ``tensors`` describe; what does not fit raises KeyError, TypeError,
    ValueError or RuntimeError, which ``load`` turns into one line."""
    # options a saved file lacks take the value they had before the option existed (a refit keeps it):
    # the mean-MASE weights, the plain pinball loss, the RNN's share on any panel with its own band, one window,
    # no floor at 0
    old = {"weight_loss": "mean", "loss_scale": None, "rnn_min_windows": 0, "partner_bands": False,
           "weight_windows": 1, "nonnegative": False}
    f = cls(meta["horizon"], meta["season"], **(old | meta["options"]))
    f.log_, f.steps_ = meta["log"], meta["steps"]
    o = f.options
    f.cov_ = Covariates.from_meta(meta.get("covariates"), None)
    for i, mm in enumerate(meta["members"]):
        model = GlobalRNN(mm["lookback"], f.horizon, f.quantiles, o.hidden, o.layers, mm["segment"],
                          **(f.cov_.sizes() if f.cov_ else {}), norm_ref=1.0 if mm.get("normed") else None, cell=o.cell)
        prefix = f"member{i}."
        model.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
        if model.normed and not (torch.isfinite(model.norm_ref) and model.norm_ref > 0):
            raise ValueError(f"member {i}: norm_ref must be a positive number, got {float(model.norm_ref)!r}")
        f.members_.append(model.eval())
    w = meta.get("weights")  # absent in files saved before the weights were chosen in fit: the options'
    if w is None and o.theta is None and o.damped is None:
        raise ValueError("no combination weights")
    f.weights_ = point_weights(f, None) if w is None else tuple(float(v) for v in w)
    if len(f.weights_) not in ((3, 4) if o.seasonal_ets else (3,)) or not all(0 <= v <= 1 for v in f.weights_):
        raise ValueError(f"weights must be three numbers in [0, 1] (four with seasonal_ets), got {w!r}")
    f.band_scales_ = saved_scales(meta.get("band_scales"), o.levels)  # absent: raw bands
    f.history_ = pd.DataFrame({"unique_id": meta["ids"], "ds": _stamps_in(tensors["history.ds"], meta),
                               "y": tensors["history.y"].numpy()})
    f.id_kind_ = meta.get("id_kind", "str")  # absent before the twentieth session: ids came back as text
    if f.id_kind_ not in ("str", "int") or (f.id_kind_ == "int" and not all(
            isinstance(i, str) and re.fullmatch(r"-?\d+", i) for i in meta["ids"])):  # what predict turns to int64
        raise ValueError(f"id_kind must be 'str', or 'int' with integer ids, got {f.id_kind_!r}")
    names = meta.get("names", NAMES)  # absent before the twenty-second session: forecasts came back as unique_id, ds
    if not (isinstance(names, (list, tuple)) and len(names) == 3
            and all(isinstance(n, (str, int)) and not isinstance(n, bool) for n in names)):
        raise ValueError(f"names must be the three column names fit was given, got {names!r}")
    try:
        f.names_ = output_names(*names)
    except ConfigError as err:
        raise ValueError(f"names: {err}") from None
    f.windows_ = int((f.history_.groupby("unique_id", sort=False).size() - f.horizon).clip(lower=0).sum())
    if f.cov_ is not None:
        cov = pd.DataFrame(tensors["history.covariates"].numpy(), columns=f.cov_.columns)
        f.cov_.history = pd.concat([f.history_[["unique_id", "ds"]], cov], axis=1)
    return f
