"""Sequence classification: config and pipeline (train, predict, evaluate), metrics."""
