"""PostgreSQL's LISTEN: wake an idle child as soon as a job is enqueued (elsewhere it polls)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from django.db.backends.base.base import BaseDatabaseWrapper

from .base import CHANNEL

logger = logging.getLogger("django_resilient_queue.worker")


class PostgresListener(threading.Thread):
    """A thread with its own connection that sets ``wake`` on every NOTIFY for our queues."""

    def __init__(
        self,
        connection: BaseDatabaseWrapper,
        wake: threading.Event,
        stop: threading.Event,
        queues: Sequence[str],
    ) -> None:
        super().__init__(name="resilient-queue-listener", daemon=True)
        self.params = connection.get_connection_params()
        self.wake = wake
        self.stop = stop
        self.queues = set(queues)

    def run(self) -> None:
        """Listen until ``stop`` is set, reconnecting after errors."""
        try:
            import psycopg
        except ImportError:
            logger.warning("psycopg 3 is not installed: idle workers poll instead of LISTEN")
            return
        delay = 0.5
        while not self.stop.is_set():
            try:
                with psycopg.connect(**self.params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    delay = 0.5
                    self.wake.set()  # jobs may have arrived while we were not listening
                    while not self.stop.is_set():
                        for notify in conn.notifies(timeout=1.0):
                            if not self.queues or notify.payload in self.queues:
                                self.wake.set()
            except psycopg.Error:
                logger.debug("listener connection failed; retrying in %.1fs", delay)
                self.wake.set()
                time.sleep(delay)
                delay = min(10.0, delay * 2)
