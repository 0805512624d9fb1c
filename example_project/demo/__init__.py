"""A small app whose jobs, page and ``demo`` command show the queue at work."""
