"""Backups that can be restored: `hindfoot db backup FILE` and `hindfoot db restore FILE`.

- SQLite: the online backup API (`sqlite3.Connection.backup`), a consistent copy page by page
  while the server keeps serving; restore copies it back the same way.
- PostgreSQL: `pg_dump --format=custom` (one consistent snapshot, compressed), restored with
  `pg_restore --clean --if-exists --no-owner` into the configured database.

The restore drill (tests/operations/test_backup_restore.py) backs up a database with every kind
of record, restores it into an empty one and compares every table row by row.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = ["BackupError", "backup", "restore"]


class BackupError(Exception):
    pass


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def _pg_args(database_url: str) -> tuple[list[str], dict[str, str]]:
    url = make_url(database_url)
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432), "--dbname", url.database or ""]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def backup(database_url: str, target: Path) -> int:
    """Write a backup of the database to `target`; returns its size in bytes."""
    if database_url.startswith("sqlite"):
        source = _sqlite_path(database_url)
        if not source.exists():
            raise BackupError(f"no database file at {source}")
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        src.close()
        dst.close()
    else:
        args, env = _pg_args(database_url)
        run = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), *args],
                             env=env, capture_output=True, text=True)
        if run.returncode != 0:
            raise BackupError(f"pg_dump failed: {run.stderr.strip()}")
    return target.stat().st_size


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with the backup in `source`."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    if database_url.startswith("sqlite"):
        target = _sqlite_path(database_url)
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        src.close()
        dst.close()
        return
    args, env = _pg_args(database_url)
    run = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                          "--exit-on-error", *args, str(source)], env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise BackupError(f"pg_restore failed: {run.stderr.strip()}")
