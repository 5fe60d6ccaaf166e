"""Forecasting: config, pipeline (train, predict, backtest), metrics, report, baselines."""
