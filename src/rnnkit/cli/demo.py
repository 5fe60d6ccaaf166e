"""``rnnkit demo``: the NumPy-only demo (hand-written BPTT and Adam, no torch), in seconds."""
from __future__ import annotations

import typer

from rnnkit.reference.demo import run_demo

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        steps: int = typer.Option(400, metavar="INT", help="Adam steps to train for."),
        hidden_size: int = typer.Option(16, metavar="INT", help="LSTM hidden size H."),
        seed: int = typer.Option(0, metavar="INT", help="Seed for the weights and the generated waves."),
    ) -> None:
        """Train a NumPy LSTM to continue sine waves and print its loss falling."""
        run_demo(steps=steps, hidden_size=hidden_size, seed=seed, log=typer.echo)
