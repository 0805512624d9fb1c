"""The performance suite behind benchmarks/run.py, one module per concern."""
