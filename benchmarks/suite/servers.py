"""Database servers: a fresh database (or Redis queue) for every measurement."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

from harness.common import parse_url

from .paths import PREFIX


class Server:
    kind = ""
    label = ""
    templates = False

    def probe(self) -> str | None:
        """Why this server cannot be used, or None."""
        raise NotImplementedError

    def create(self, name: str, template: str | None = None) -> tuple[str, list[str]]:
        """Create database ``name``; return its URL and extra adapter arguments."""
        raise NotImplementedError

    def drop(self, name: str) -> None:
        raise NotImplementedError


class PostgresServer(Server):
    kind = "postgresql"
    label = "PostgreSQL"
    templates = True

    def __init__(self, url: str) -> None:
        self.url = parse_url(url)
        self.version = ""

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(self.url.conninfo(), autocommit=True, connect_timeout=5)

    def probe(self) -> str | None:
        try:
            with self._admin() as conn:
                self.version = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as exc:
            return f"PostgreSQL at {self.url.host}:{self.url.port} unreachable ({exc})"
        return None

    def create(self, name: str, template: str | None = None) -> tuple[str, list[str]]:
        assert name.startswith(PREFIX)
        with self._admin() as conn:
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.url.with_name(name), []

    def drop(self, name: str) -> None:
        assert name.startswith(PREFIX)
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class MariaDBServer(Server):
    kind = "mariadb"
    label = "MariaDB"

    def __init__(self, url: str) -> None:
        self.url = parse_url(url)
        self.version = ""

    def _admin(self) -> Any:
        import MySQLdb

        return MySQLdb.connect(
            host=self.url.host,
            port=self.url.port or 3306,
            user=self.url.user,
            password=self.url.password,
            connect_timeout=5,
        )

    def probe(self) -> str | None:
        try:
            conn = self._admin()
            cursor = conn.cursor()
            cursor.execute("SELECT VERSION()")
            self.version = cursor.fetchone()[0]
            conn.close()
        except Exception as exc:
            return f"MariaDB at {self.url.host}:{self.url.port} unusable ({exc})"
        return None

    def create(self, name: str, template: str | None = None) -> tuple[str, list[str]]:
        assert name.startswith(PREFIX)
        conn = self._admin()
        conn.cursor().execute(
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        conn.close()
        return self.url.with_name(name).replace(f"{self.url.scheme}://", "mysql://", 1), []

    def drop(self, name: str) -> None:
        assert name.startswith(PREFIX)
        conn = self._admin()
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


class SQLiteServer(Server):
    kind = "sqlite"
    label = "SQLite"
    templates = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        import sqlite3

        self.version = sqlite3.sqlite_version

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.sqlite3"

    def probe(self) -> str | None:
        self.directory.mkdir(parents=True, exist_ok=True)
        return None

    def create(self, name: str, template: str | None = None) -> tuple[str, list[str]]:
        target = self.path(name)
        if template:
            shutil.copyfile(self.path(template), target)
        return f"sqlite:///{target}", []

    def drop(self, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path(name)}{suffix}").unlink(missing_ok=True)


class RedisServer(Server):
    """No database to create: a fresh queue name. The adapter deletes the keys it made;
    ``drop`` removes whatever an interrupted run left under that name."""

    kind = "redis"
    label = "Redis"

    def __init__(self, url: str) -> None:
        self.raw = url
        self.url = parse_url(url)
        self.version = ""

    def command(self, *args: str) -> Any:
        """Send one command (RESP) and return its decoded reply."""
        db = self.url.name or "0"
        with socket.create_connection((self.url.host, self.url.port or 6379), timeout=5) as sock:
            stream = sock.makefile("rwb")
            for cmd in (("SELECT", db), args):
                stream.write(f"*{len(cmd)}\r\n".encode())
                for part in cmd:
                    data = part.encode()
                    stream.write(b"$%d\r\n%s\r\n" % (len(data), data))
            stream.flush()
            self._reply(stream)  # SELECT's +OK
            return self._reply(stream)

    def _reply(self, stream: Any) -> Any:
        line = stream.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind in (b"+", b":"):
            return rest.decode()
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else stream.read(size + 2)[:-2].decode(errors="replace")
        if kind == b"*":
            return [self._reply(stream) for _ in range(max(0, int(rest)))]
        raise RuntimeError(f"unexpected Redis reply {line!r}")

    def probe(self) -> str | None:
        try:
            info = self.command("INFO", "server")
        except (OSError, RuntimeError) as exc:
            return f"Redis at {self.url.host}:{self.url.port} unusable ({exc})"
        for line in str(info).splitlines():
            if line.startswith("redis_version:"):
                self.version = line.split(":", 1)[1].strip()
        return None

    def create(self, name: str, template: str | None = None) -> tuple[str, list[str]]:
        return self.raw, ["--queue", name]

    def drop(self, name: str) -> None:
        assert name.startswith(PREFIX)
        keys = self.command("KEYS", f"*{name}*")
        if keys:
            self.command("DEL", *keys)
