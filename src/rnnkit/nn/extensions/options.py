"""The extension switches of one layer or cell, checked once at construction."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Extensions", "check_probability"]


def check_probability(name: str, value: object) -> float:
    """A dropout-like probability in [0, 1): named, ruled and echoed when wrong."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Extensions:
    """Which extensions a recurrent layer uses; the defaults are the plain layer.

    ``nonlinearity`` is "tanh", "relu" or any elementwise callable (Elman RNN only).
    """

    layer_norm: bool = False
    recurrent_dropout: float = 0.0
    zoneout: float = 0.0
    nonlinearity: str | Callable = "tanh"
    eps: float = 1e-5

    @property
    def active(self) -> bool:
        """True when the recurrence differs from the plain layer's."""
        return (self.layer_norm or self.recurrent_dropout > 0 or self.zoneout > 0
                or self.nonlinearity not in ("tanh", "relu"))

    def describe(self) -> str:
        parts = []
        if self.layer_norm:
            parts.append("layer_norm=True")
        if self.recurrent_dropout:
            parts.append(f"recurrent_dropout={self.recurrent_dropout}")
        if self.zoneout:
            parts.append(f"zoneout={self.zoneout}")
        if self.nonlinearity not in ("tanh", "relu"):
            name = getattr(self.nonlinearity, "__name__", type(self.nonlinearity).__name__)
            parts.append(f"nonlinearity={name}")
        return ", ".join(parts)

    @classmethod
    def checked(cls, layer_norm: object = False, recurrent_dropout: object = 0.0,
                zoneout: object = 0.0, nonlinearity: object = "tanh") -> "Extensions":
        if not isinstance(layer_norm, bool):
            raise ValueError(f"layer_norm must be True or False, got {layer_norm!r}")
        if not (nonlinearity in ("tanh", "relu") or callable(nonlinearity)):
            raise ValueError("nonlinearity must be 'tanh', 'relu' or an elementwise callable, "
                             f"got {nonlinearity!r}")
        return cls(layer_norm, check_probability("recurrent_dropout", recurrent_dropout),
                   check_probability("zoneout", zoneout), nonlinearity)
