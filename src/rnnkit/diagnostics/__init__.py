"""Seeing backpropagation through time: gradient flow, memory span, long-memory tasks.

- :func:`gradient_flow`: ‖∂L/∂h_t‖ for every step t of an rnnkit recurrent layer (per
  layer and direction) and the effective memory span (:mod:`rnnkit.diagnostics.flow`);
- :func:`adding_problem`, :func:`copy_memory`, :func:`sequential_digits`: the classic
  long-memory tasks as seeded generators (:mod:`rnnkit.diagnostics.tasks`);
- :func:`diagnose`: trains the Elman RNN, LSTM, GRU and MinGRU on one task at several
  lengths T and reports solved / steps / span, with plots (``rnnkit diagnose``).

Depends on rnnkit.nn, rnnkit.errors and the generic training helpers only.
"""
from rnnkit.diagnostics.flow import GradientFlow, effective_span, gradient_flow, hidden_gradients
from rnnkit.diagnostics.tasks import adding_problem, copy_memory, sequential_digits

__all__ = [
    "GradientFlow",
    "gradient_flow",
    "hidden_gradients",
    "effective_span",
    "adding_problem",
    "copy_memory",
    "sequential_digits",
]
