"""Running one adapter action in its engine's interpreter, with a time limit."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.common import RESULT_PREFIX

from .engines import Engine
from .paths import REPO


def tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def scrub(value: Any) -> Any:
    """Replace this machine's paths in results (error messages, tracebacks) with markers."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if not isinstance(value, str):
        return value
    prefixes = {str(REPO): "<repo>", sys.base_prefix: "<python>", os.path.expanduser("~"): "~"}
    for prefix, marker in sorted(prefixes.items(), key=lambda kv: -len(kv[0])):
        if len(prefix) > 1:
            value = value.replace(prefix, marker)
    return value


def run_adapter(
    python: str,
    engine: Engine,
    action: str,
    url: str,
    extra: list[str],
    timeout: float,
    work: Path,
    log_path: Path,
) -> dict[str, Any]:
    """Run the adapter in its own process group; kill the whole group on timeout."""
    cmd = [python, str(engine.adapter), action, "--db-url", url, "--workdir", str(work)]
    cmd += ["--timeout", f"{max(10.0, timeout * 0.85):.0f}", *engine.extra_args, *extra]
    with open(log_path, "ab") as err:
        err.write(f"$ {' '.join(cmd)}\n".encode())
        err.flush()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err, cwd=REPO, start_new_session=True
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return {"status": "failed", "error": f"timed out after {timeout:.0f} s"}
        finally:
            # Workers the adapter left behind share its process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
    text = out.decode(errors="replace")
    with open(log_path, "ab") as err:
        err.write(text.encode())
    lines = [line for line in text.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        return {
            "status": "failed",
            "error": f"adapter exited with {proc.returncode} and no result: {tail(log_path)}",
        }
    return json.loads(lines[-1][len(RESULT_PREFIX) :])
