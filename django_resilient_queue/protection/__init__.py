"""Protection under load and failure: breakers, limits, aging, backpressure, batching."""
