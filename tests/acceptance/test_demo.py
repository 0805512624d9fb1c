"""The example project's ``manage.py demo --burst``, run for real, ends every job as expected."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE_PROJECT = Path(__file__).resolve().parents[2] / "example_project"
DEADLINE = 180  # seconds; the demo itself gives up after 120
STOP_GRACE = 30  # seconds the demo gets to stop its workers when told to

# task, expected final state (as the summary words it), how many jobs of it
EXPECTED_ROWS = [
    ("quick", "succeeded", 20),
    ("slow", "succeeded", 3),
    ("flaky", "succeeded on attempt 2", 3),
    ("failing", "failed + dead letter", 2),
]


def _runs_on_sqlite() -> bool:
    url = os.environ.get("DATABASE_URL", "")
    return not url or url.startswith("sqlite")


@pytest.mark.acceptance
@pytest.mark.skipif(
    not _runs_on_sqlite(),
    reason="the demo uses its own SQLite file; running it once, in the SQLite run, is enough",
)
def test_demo_burst_ends_every_job_in_its_expected_state(tmp_path: Path) -> None:
    """The burst demo migrates a fresh database, runs the workload and reports it as expected."""
    env = {
        **os.environ,
        # Its own database file: never the repository's db.sqlite3 nor the test database.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        # The test run's settings module must not leak into the example project.
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "PYTHONUNBUFFERED": "1",
        # The package of this checkout, not whichever copy the environment installed.
        "PYTHONPATH": os.pathsep.join(
            [str(EXAMPLE_PROJECT.parent), os.environ.get("PYTHONPATH", "")]
        ),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--burst"],
        cwd=EXAMPLE_PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        # SIGTERM first: the demo then stops the workers it started.
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        pytest.fail(f"the demo did not finish within {DEADLINE} s:\n{output}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, output
    for task, expected, count in EXPECTED_ROWS:
        row = rf"^{task}\s+{re.escape(expected)}\s+{re.escape(expected)}\s+{count}\s*$"
        assert re.search(row, output, re.MULTILINE), f"no row {task!r} as expected in:\n{output}"
    assert "not as expected" not in output, output
    assert "All 28 demo jobs reached their expected state." in output, output
