"""``runworkers --reload``: restart the supervisor and its children when code changes.

Development only. Django's autoreloader runs the command in a child process and starts it
again whenever it exits with code 3. In that child the supervisor runs on a thread while
the reloader watches files on the main thread; on a change the supervisor is first stopped
gracefully (its running jobs finish or are given back), and only then does Django restart.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.utils import autoreload

from .config import WorkerConfig
from .supervisor import Supervisor


def run_with_reload(config: WorkerConfig, companions: Sequence[Callable[[], object]] = ()) -> int:
    """Serve jobs, restarting on code changes, until stopped; return the exit code."""
    if os.environ.get(autoreload.DJANGO_AUTORELOAD_ENV) != "true":
        # The watching parent: it only restarts the child; this exits with the child's code.
        autoreload.run_with_reloader(lambda: None)
        return 0
    supervisor = Supervisor(config, companions)
    finished = threading.Event()
    codes: list[int] = []

    def serve() -> None:
        try:
            codes.append(supervisor.run())
        finally:
            finished.set()

    def stop_before_reload(sender: Any, file_path: Any, **kwargs: Any) -> None:
        # Runs on the reloader's thread; returning None lets Django restart afterwards.
        supervisor.request_stop()
        finished.wait()

    autoreload.file_changed.connect(stop_before_reload, weak=False)
    try:
        autoreload.run_with_reloader(serve)
    finally:
        # SIGTERM (Django's handler exits), Ctrl-C or a reload: never leave children behind.
        supervisor.request_stop()
        finished.wait(config.graceful_timeout + 30)
    return codes[0] if codes else 0
