"""How a Job row names a Django Task: a marker, the backend alias, the function's dotted path.

``task:app.tasks.add`` for the ``default`` alias, ``task@emails:app.tasks.add`` for another.
No Python dotted path contains ``:``, so a ``@job`` name can never look like one, and only
rows with the marker make a worker import a module to look for a Task.
"""

from __future__ import annotations

import re
from typing import NamedTuple

MARKER = "task"
DEFAULT_ALIAS = "default"  # django.tasks.DEFAULT_TASK_BACKEND_ALIAS, without importing it
_NAME = re.compile(r"^task(?:@(?P<alias>[^:\s]+))?:(?P<path>[A-Za-z_][\w.]*\.[A-Za-z_]\w*)$")


class TaskName(NamedTuple):
    """The backend alias and the Task's dotted path that a row names."""

    alias: str
    path: str


def row_name(alias: str, path: str) -> str:
    """Return the ``Job.task`` value for the Task at ``path`` enqueued through ``alias``."""
    if alias == DEFAULT_ALIAS:
        return f"{MARKER}:{path}"
    return f"{MARKER}@{alias}:{path}"


def parse(name: str) -> TaskName | None:
    """Return what a row name says, or None when it does not name a Django Task."""
    if not name.startswith(MARKER):
        return None
    match = _NAME.match(name)
    if match is None:
        return None
    return TaskName(match["alias"] or DEFAULT_ALIAS, match["path"])
