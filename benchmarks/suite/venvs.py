"""Virtual environments of the peers, installed from PyPI on first use."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from .adapters import tail
from .engines import Engine
from .paths import REPO, VENVS


def python_version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def find_python(minimum: tuple[int, int]) -> str | None:
    if sys.version_info[:2] >= minimum:
        return sys.executable
    candidates = [
        shutil.which(f"python{minimum[0]}.{minor}") for minor in range(minimum[1], minimum[1] + 4)
    ]
    if shutil.which("pyenv"):  # interpreters pyenv installed but did not put on PATH
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(str(p) for p in Path(root).glob("versions/3.*/bin/python3"))
    for candidate in candidates:
        if candidate and (python_version(candidate) or (0, 0)) >= minimum:
            return candidate
    return None


def ensure_venv(engine: Engine, log_dir: Path) -> str:
    """Return the engine's interpreter, installing its virtual environment if needed."""
    if not engine.venv:
        return sys.executable
    venv = VENVS / engine.key
    python = venv / "bin" / "python"
    wanted = hashlib.sha256(engine.requirements.read_bytes()).hexdigest()
    stamp = venv / ".requirements.sha256"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return str(python)
    log_path = log_dir / f"install-{engine.key}.log"
    if not python.exists() or (python_version(str(python)) or (0, 0)) < engine.min_python:
        base = find_python(engine.min_python)
        if base is None:
            raise RuntimeError(
                f"needs Python >= {'.'.join(map(str, engine.min_python))}, none found"
            )
        print(f"  creating {venv.relative_to(REPO)} with {base}")
        subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
    print(f"  installing {engine.requirements.relative_to(REPO)} (log: {log_path.name})")
    with open(log_path, "wb") as out:
        proc = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(engine.requirements)],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
        )
    if proc.returncode:
        raise RuntimeError(f"pip install failed: {tail(log_path)}")
    stamp.write_text(wanted)
    return str(python)


def package_versions(python: str, packages: tuple[str, ...]) -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m, sys\n"
        "out = {'python': '.'.join(map(str, sys.version_info[:3]))}\n"
        f"for p in {list(packages)!r}:\n"
        "    try: out[p] = m.version(p)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
        return json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}
