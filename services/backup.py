"""Backup and restore of the whole database.

SQLite: the online backup API (sqlite3.Connection.backup) — a consistent copy while the
application keeps running, WAL content included. PostgreSQL: pg_dump / pg_restore in the
custom format, connection arguments taken from the SQLAlchemy URL (the password goes through
PGPASSWORD, never on the command line)."""
import os
import shutil
import sqlite3
import subprocess  # nosec B404 - fixed argument lists, no shell
from pathlib import Path

import sqlalchemy as sa

from models import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is for the operator."""


def _url(app) -> sa.engine.URL:
    return sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])


def _sqlite_path(url) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("内存数据库无法备份。")
    return Path(url.database)


def _pg_tool(name: str) -> str:
    env_dir = os.environ.get("PG_BIN")
    for d in ([env_dir] if env_dir else []):
        if Path(d, name).exists():
            return str(Path(d, name))
    found = shutil.which(name)
    if found:
        return found
    for d in PG_BIN_DIRS:
        if Path(d, name).exists():
            return str(Path(d, name))
    raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端或设置 PG_BIN。")


def _pg_args(url) -> tuple[list[str], dict]:
    args = []
    if url.host:
        args += ["-h", url.host]
    if url.port:
        args += ["-p", str(url.port)]
    if url.username:
        args += ["-U", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def _release_connections() -> None:
    """No transaction of ours may hold locks while the database is copied or replaced."""
    db.session.remove()
    db.engine.dispose()


def backup(app, dest: str | Path) -> Path:
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    url = _url(app)
    tmp = dest.with_name(dest.name + ".partial")
    if url.get_backend_name() == "sqlite":
        src_path = _sqlite_path(url)
        if not src_path.exists():
            raise BackupError(f"数据库文件不存在：{src_path}")
        src = sqlite3.connect(str(src_path), timeout=30)
        out = sqlite3.connect(str(tmp))
        try:
            with out:
                src.backup(out)
        finally:
            out.close()
            src.close()
    elif url.get_backend_name() == "postgresql":
        args, env = _pg_args(url)
        cmd = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
               *args, "-f", str(tmp), url.database]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)  # nosec B603 - argument list, no shell
        if result.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise BackupError("pg_dump 失败：" + result.stderr.strip()[-500:])
    else:
        raise BackupError(f"不支持的数据库：{url.get_backend_name()}")
    os.replace(tmp, dest)
    return dest


def restore(app, source: str | Path) -> None:
    """Replace the whole database with the backup in `source`."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"备份文件不存在：{source}")
    with open(source, "rb") as fh:
        head = fh.read(16)
    url = _url(app)
    _release_connections()
    if url.get_backend_name() == "sqlite":
        if head != SQLITE_MAGIC:
            raise BackupError("这不是 SQLite 备份文件。")
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            if src.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("备份文件已损坏（quick_check 未通过）。")
            dst = sqlite3.connect(str(_sqlite_path(url)), timeout=30)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    elif url.get_backend_name() == "postgresql":
        if not head.startswith(PG_MAGIC):
            raise BackupError("这不是 pg_dump 自定义格式的备份文件。")
        args, env = _pg_args(url)
        cmd = [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
               "--no-privileges", "--single-transaction", "--exit-on-error", *args,
               "-d", url.database, str(source)]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)  # nosec B603 - argument list, no shell
        if result.returncode != 0:
            raise BackupError("pg_restore 失败：" + result.stderr.strip()[-500:])
    else:
        raise BackupError(f"不支持的数据库：{url.get_backend_name()}")
    _release_connections()
