"""One package per task: forecast, classify, text and the tutorial.

Each holds its config, its pipeline (the plain functions the CLI calls), its metrics and
its report. Tasks use ``training`` (the generic trainer), ``models`` and ``data``; nothing
below ``tasks`` imports a task.
"""
