#!/usr/bin/env python
"""Run the test suite once per database and print one summary for all of them.

    python scripts/run_tests.py                       # SQLite, then PostgreSQL and MariaDB if up
    python scripts/run_tests.py --only postgresql     # one database (repeat or comma-separate)
    python scripts/run_tests.py -- -k breaker -x      # everything after "--" goes to pytest

SQLite always runs. PostgreSQL and MariaDB run when a real connection to them
succeeds (a short connection attempt with the project's own drivers); otherwise
the run is skipped and the summary says why. The URLs default to the local
servers and can be overridden with TEST_DATABASE_URL_POSTGRESQL and
TEST_DATABASE_URL_MARIADB.

A skipped database is an error (non-zero exit) when it is required: every
database named with --only is, and so are all of them in CI (CI=true) unless
REQUIRE_ALL_DATABASES=0. REQUIRE_ALL_DATABASES=1 requires them outside CI too.

Every invocation gives PostgreSQL and MariaDB a database name of its own (the
URL's name plus "_run<pid>", so pytest-django creates test_test_run<pid>): two
people or tools running the suite at once on one server never share, drop or
recreate each other's test database. The database is dropped after the run even
if pytest died before it could clean up.

Each run writes JUnit XML to build/test-results/<database>.xml and the final
table to build/test-results/summary.txt. The exit status is non-zero when any
run failed, collected no test (pytest's exit code 5) or a required database was
skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "build" / "test-results"
SUMMARY_FILE = RESULTS_DIR / "summary.txt"

# Seconds to wait for a database server to answer the probe connection.
PROBE_TIMEOUT = 3

# pytest's exit codes that matter here.
PYTEST_OK = 0
PYTEST_NO_TESTS = 5

TRUTHY = {"1", "true", "yes", "on"}
FALSY = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Database:
    """One database the suite runs against."""

    name: str  # the label used by --only and in the summary
    url: str  # the server's URL, as configured: probed, and the base of run_url
    probe: Callable[[str], str | None] | None = None  # why it cannot be used, or None
    drop: Callable[[str, str], None] | None = None  # drops a database on that server

    @property
    def run_url(self) -> str:
        """The DATABASE_URL this invocation's pytest gets (see the module docstring)."""
        if self.drop is None:  # SQLite: tests/settings.py already makes a per-process file
            return self.url
        parts = urlsplit(self.url)
        name = unquote(parts.path.lstrip("/")) or "test"
        return urlunsplit(parts._replace(path=f"/{name}_run{os.getpid()}"))

    @property
    def test_database(self) -> str:
        """The name pytest-django gives the test database made from run_url."""
        return "test_" + _url_parts(self.run_url)[4]


@dataclass
class RunResult:
    """What happened to the suite on one database."""

    database: str
    result: str  # "passed", "FAILED", "NO TESTS", "skipped" (or "FAILED" for a required skip)
    ok: bool
    skip_reason: str = ""
    passed: int | None = None
    failed: int | None = None
    errors: int | None = None
    skipped: int | None = None
    seconds: float | None = None


# --------------------------------------------------------------------------- URLs and probes


def redact(url: str) -> str:
    """The URL with its password hidden, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}:***@{netloc[1]}"))


def _url_parts(url: str) -> tuple[str, int | None, str, str, str]:
    """(host, port, user, password, database name) from a database URL."""
    parts = urlsplit(url)
    # urlsplit keeps %-escapes: a host may be an escaped socket path (%2Fvar%2Frun...).
    host = unquote(parts.hostname or "")
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    name = unquote(parts.path.lstrip("/"))
    return host, parts.port, user, password, name


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _pg_kwargs(url: str) -> dict[str, Any]:
    """psycopg.connect() arguments for a postgres:// URL."""
    host, port, user, password, name = _url_parts(url)
    return {
        "host": host or None,
        "port": port or 5432,
        "user": user or None,
        "password": password or None,
        "dbname": name or None,
        "connect_timeout": PROBE_TIMEOUT,
    }


def probe_postgresql(url: str) -> str | None:
    """Connect once with psycopg; return the reason on failure."""
    try:
        import psycopg
    except ImportError:
        return "the psycopg driver is not installed (pip install -e '.[postgres]')"
    try:
        conn = psycopg.connect(**_pg_kwargs(url))
    except Exception as exc:  # any driver error means "not usable"; say which
        return f"cannot connect to {redact(url)}: {_first_line(exc)}"
    conn.close()
    return None


def _mysql_kwargs(url: str, *, with_database: bool = True) -> dict[str, Any]:
    """MySQLdb.connect() arguments for a mysql:// URL."""
    host, port, user, password, name = _url_parts(url)
    kwargs: dict[str, Any] = {
        "user": user,
        "password": password,
        "connect_timeout": PROBE_TIMEOUT,
    }
    if host.startswith("/"):
        kwargs["unix_socket"] = host
    else:
        kwargs["host"] = host or "127.0.0.1"
        kwargs["port"] = port or 3306
    if name and with_database:
        kwargs["database"] = name
    return kwargs


def probe_mariadb(url: str) -> str | None:
    """Connect once with MySQLdb (mysqlclient); return the reason on failure."""
    try:
        import MySQLdb
    except ImportError:
        return (
            "the MySQLdb module (mysqlclient) is not installed; it builds against "
            "libmariadb-dev and pkg-config (pip install -e '.[mysql]')"
        )
    try:
        conn = MySQLdb.connect(**_mysql_kwargs(url))
    except Exception as exc:
        return f"cannot connect to {redact(url)}: {_first_line(exc)}"
    conn.close()
    return None


def drop_postgresql(url: str, database: str) -> None:
    """DROP DATABASE IF EXISTS, connected to the URL's (existing) database."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(**_pg_kwargs(url), autocommit=True) as conn:
        # FORCE (PostgreSQL >= 13) also ends connections a killed run's workers left open.
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def drop_mariadb(url: str, database: str) -> None:
    """DROP DATABASE IF EXISTS on the URL's server."""
    import MySQLdb

    conn = MySQLdb.connect(**_mysql_kwargs(url, with_database=False))
    try:
        quoted = database.replace("`", "``")
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{quoted}`")
    finally:
        conn.close()


def databases() -> list[Database]:
    """The three databases, in the order they run."""
    return [
        Database("sqlite", f"sqlite:///{REPO / 'tests' / 'db.sqlite3'}"),
        Database(
            "postgresql",
            os.environ.get("TEST_DATABASE_URL_POSTGRESQL")
            or "postgres://postgres@127.0.0.1:5432/test",
            probe=probe_postgresql,
            drop=drop_postgresql,
        ),
        Database(
            "mariadb",
            os.environ.get("TEST_DATABASE_URL_MARIADB") or "mysql://root@127.0.0.1:3306/test",
            probe=probe_mariadb,
            drop=drop_mariadb,
        ),
    ]


# --------------------------------------------------------------------------- running pytest


def read_junit(path: Path) -> tuple[int, int, int, int] | None:
    """(passed, failed, errors, skipped) from pytest's JUnit XML, or None if unreadable."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = failed = errors = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", "0"))
        failed += int(suite.get("failures", "0"))
        errors += int(suite.get("errors", "0"))
        skipped += int(suite.get("skipped", "0"))
    # A test that fails and then errors in teardown is counted twice; never go below zero.
    passed = max(tests - failed - errors - skipped, 0)
    return passed, failed, errors, skipped


def run_pytest(db: Database, pytest_args: Sequence[str]) -> RunResult:
    """Run the whole suite against one database."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    junit = RESULTS_DIR / f"{db.name}.xml"
    junit.unlink(missing_ok=True)  # never report a previous run's numbers

    env = os.environ.copy()
    env["DATABASE_URL"] = db.run_url
    # Set by the suite itself for the worker processes it starts; inherited, it
    # would point this run at some other run's database.
    env.pop("RESILIENT_QUEUE_TEST_DB_NAME", None)

    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--junitxml={junit}",
        "-o",
        f"junit_suite_name={db.name}",
        *pytest_args,
    ]
    banner(f"{db.name}: {redact(db.run_url)}")
    started = time.monotonic()
    try:
        code = subprocess.call(command, cwd=REPO, env=env)
    finally:
        # pytest-django drops its test database itself unless pytest died first.
        if db.drop is not None:
            try:
                db.drop(db.url, db.test_database)
            except Exception as exc:
                print(f"warning: could not drop {db.test_database}: {_first_line(exc)}")
    seconds = time.monotonic() - started

    counts = read_junit(junit)
    result = RunResult(db.name, "passed", ok=True, seconds=seconds)
    if counts is not None:
        result.passed, result.failed, result.errors, result.skipped = counts
    if code == PYTEST_NO_TESTS:
        result.result, result.ok = "NO TESTS", False
    elif code != PYTEST_OK:
        result.result, result.ok = f"FAILED ({code})", False
    return result


# --------------------------------------------------------------------------- output


def banner(text: str) -> None:
    print(f"\n===== {text} =====", flush=True)


def _cell(value: int | float | None, fmt: str = "d") -> str:
    return "-" if value is None else format(value, fmt)


def summary_lines(results: Sequence[RunResult]) -> list[str]:
    header = ("Database", "Result", "Passed", "Failed", "Errors", "Skipped", "Seconds")
    rows = [
        (
            r.database,
            r.result,
            _cell(r.passed),
            _cell(r.failed),
            _cell(r.errors),
            _cell(r.skipped),
            _cell(r.seconds, ".1f"),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def fmt(row: Sequence[str]) -> str:
        left = [row[i].ljust(widths[i]) for i in range(2)]
        right = [row[i].rjust(widths[i]) for i in range(2, len(row))]
        return "  ".join(left + right)

    lines = [fmt(header), fmt(["-" * w for w in widths]), *(fmt(row) for row in rows)]
    lines += [f"SKIPPED {r.database}: {r.skip_reason}" for r in results if r.skip_reason]

    passed = sum(r.passed or 0 for r in results)
    failed = sum((r.failed or 0) + (r.errors or 0) for r in results)
    skipped = sum(r.skipped or 0 for r in results)
    verdict = "OK" if all(r.ok for r in results) else "FAILED"
    lines.append(f"Result: {verdict}")
    # The closing line, in the plain "N passed, N failed" form CI logs are read by.
    lines.append(f"Total: {passed} passed, {failed} failed, {skipped} skipped")
    return lines


# --------------------------------------------------------------------------- main


def env_flag(name: str) -> bool | None:
    """True/False for a set boolean variable, None when unset or unrecognised."""
    value = os.environ.get(name)
    if value is None:
        return None
    value = value.strip().lower()
    if value in TRUTHY:
        return True
    if value in FALSY:
        return False
    return None


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    # Everything after the first "--" belongs to pytest, untouched.
    argv = list(argv)
    pytest_args: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, pytest_args = argv[:split], argv[split + 1 :]

    names = [db.name for db in databases()]
    parser = argparse.ArgumentParser(
        description="Run the test suite once per database (SQLite, PostgreSQL, MariaDB).",
        epilog="Arguments after -- are passed to pytest, e.g. -- tests/unit -x",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="DB",
        help=f"run only these databases ({', '.join(names)}); repeat or comma-separate",
    )
    args = parser.parse_args(argv)
    if args.only:
        chosen = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
        unknown = sorted(set(chosen) - set(names))
        if unknown:
            parser.error(f"unknown database {', '.join(unknown)}; choose from {', '.join(names)}")
        args.only = chosen
    return args, pytest_args


def main(argv: Sequence[str]) -> int:
    args, pytest_args = parse_args(argv)
    if importlib.util.find_spec("pytest") is None:
        print(
            f"pytest is not installed for {sys.executable}; run `make venv` first.",
            file=sys.stderr,
        )
        return 2

    selected = [db for db in databases() if not args.only or db.name in args.only]
    # A skipped database is a failure when it is required: REQUIRE_ALL_DATABASES
    # decides when set; otherwise CI requires all, and --only the ones it names.
    require_flag = env_flag("REQUIRE_ALL_DATABASES")
    in_ci = bool(env_flag("CI"))
    if require_flag is not None:
        required, required_by = require_flag, "REQUIRE_ALL_DATABASES"
    elif in_ci:
        required, required_by = True, "CI=true"
    else:
        required, required_by = bool(args.only), "--only"

    try:
        django_version = metadata.version("Django")
    except metadata.PackageNotFoundError:
        django_version = "not installed"
    print(
        f"Python {platform.python_version()}, Django {django_version}; "
        f"databases: {', '.join(db.name for db in selected)}"
        + (f"; required ({required_by})" if required else ""),
        flush=True,
    )

    results: list[RunResult] = []
    try:
        for db in selected:
            reason = db.probe(db.url) if db.probe else None
            if reason is None:
                results.append(run_pytest(db, pytest_args))
                continue
            if required:
                reason += f" [required by {required_by}; REQUIRE_ALL_DATABASES=0 allows a skip]"
            banner(f"{db.name}: skipped")
            print(f"SKIPPED {db.name}: {reason}", flush=True)
            results.append(
                RunResult(
                    db.name,
                    "FAILED" if required else "skipped",
                    ok=not required,
                    skip_reason=reason,
                )
            )
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        interrupted = True
    else:
        interrupted = False

    lines = summary_lines(results)
    banner("summary")
    print("\n".join(lines), flush=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    SUMMARY_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")

    if interrupted:
        return 130
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
