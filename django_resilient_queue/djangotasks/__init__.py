"""Django's Tasks framework on these workers: row names, backend options, results, the runner.

Only ``names`` and ``options`` import on Django 5.2; the rest needs ``django.tasks`` (6.0+).
"""
