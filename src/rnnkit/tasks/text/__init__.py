"""Character-level text modelling: config and pipeline (train, evaluate, generate)."""
