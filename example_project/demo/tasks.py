"""A Django Tasks ``@task`` (Django 6.0 and later) that the queue's workers run.

With ``TASKS`` naming ``ResilientQueueBackend`` (see settings.py), plain Django code works::

    $ python manage.py shell
    >>> from demo.tasks import word_count
    >>> result = word_count.enqueue("to be or not")    # a Job row, status READY
    $ python manage.py runworkers --burst              # in another terminal
    >>> result.refresh(); result.status, result.return_value
    (TaskResultStatus.SUCCESSFUL, 4)

On Django 5.2 there is no ``django.tasks``: this module then defines nothing, and the demo
uses ``@job`` (demo/jobs.py) only.
"""

from __future__ import annotations

import django

if django.VERSION >= (6, 0):
    from django.tasks import task

    @task
    def word_count(text: str) -> int:
        """Count the words of ``text``."""
        return len(text.split())
