"""Code shared by the benchmark runner and the engine adapters.

Only the standard library and psutil: every adapter imports it from its own
virtual environment.
"""
