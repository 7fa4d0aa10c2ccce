"""Configuration from the environment, with working defaults for one machine."""
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _secret_file(instance: Path, name: str, nbytes: int) -> bytes:
    """Read a key from instance/, generating it on first run (kept outside the database)."""
    path = instance / name
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(nbytes))
    return bytes.fromhex(path.read_text().strip())


def build_config(overrides: dict | None = None) -> dict:
    overrides = dict(overrides or {})
    env = os.environ
    instance = Path(overrides.get("INSTANCE_PATH") or env.get("INSTANCE_PATH")
                    or BASE_DIR / "instance")
    instance.mkdir(parents=True, exist_ok=True)
    cfg = {
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL")
        or f"sqlite:///{instance / 'registry.sqlite3'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # a pooled connection idle for longer than this is pinged before use (and replaced
        # if the server dropped it); a busy pool skips the round trip (app._ping_idle)
        "DB_PING_AFTER_IDLE_SECONDS": float(env.get("DB_PING_AFTER_IDLE_SECONDS", "10")),
        # PostgreSQL settings of every web connection: a page is a few index lookups, and
        # on a small machine a parallel plan's worker start-up and JIT compilation cost more
        # than they save while taking the core another request needs (batch jobs such as
        # `flask stats refresh` turn parallelism back on for their own transaction)
        "PG_SESSION_OPTIONS": env.get("PG_SESSION_OPTIONS",
                                      "-c max_parallel_workers_per_gather=0 -c jit=off"),
        # SQLite page cache per connection, KiB (filled only as pages are read)
        "SQLITE_CACHE_KIB": int(env.get("SQLITE_CACHE_KIB", "65536")),
        # WAL pages after which a commit copies them into the database file (SQLite's default)
        "SQLITE_WAL_AUTOCHECKPOINT": int(env.get("SQLITE_WAL_AUTOCHECKPOINT", "1000")),
        "CAPTCHA_ENABLED": env.get("CAPTCHA_ENABLED", "1") not in ("0", "false", "no"),
        "CONSOLE_2FA_ENABLED": env.get("CONSOLE_2FA_ENABLED", "1") not in ("0", "false", "no"),
        "SMS_BACKEND": env.get("SMS_BACKEND", "outbox"),
        "MAIL_BACKEND": env.get("MAIL_BACKEND", "outbox"),
        "OUTBOX_FILE": str(instance / "outbox.jsonl"),
        "MAIL_SERVER": env.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": env.get("MAIL_USE_TLS", "0") in ("1", "true", "yes"),
        "MAIL_SENDER": env.get("MAIL_SENDER", "医师电子化注册信息系统 <noreply@localhost>"),
        "PASSWORD_HASH_METHOD": env.get("PASSWORD_HASH_METHOD", "scrypt:32768:8:1"),
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "WTF_CSRF_TIME_LIMIT": None,  # bound to the session instead, which expires itself
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(8 * 1024 * 1024))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") in ("1", "true"),
        "SESSION_IDLE_MINUTES": 30,
        "SESSION_ABSOLUTE_HOURS": 12,
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_WINDOW_MINUTES": 15,
        "IP_MAX_FAILURES": int(env.get("IP_MAX_FAILURES", "30")),
        "FLASK_ADMIN_SWATCH": "cerulean",
        "TESTING": False,
        "DEBUG": False,
    }
    cfg.update(overrides)
    if "SECRET_KEY" not in cfg:
        cfg["SECRET_KEY"] = env.get("SECRET_KEY") or _secret_file(instance, "secret_key", 32).hex()
    if "DATA_KEY" not in cfg:
        key = env.get("DATA_KEY")
        cfg["DATA_KEY"] = bytes.fromhex(key) if key else _secret_file(instance, "data_key", 32)
    uri = cfg["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        cfg["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len("postgresql://"):]
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and cfg["PG_SESSION_OPTIONS"]:
        engine_options = dict(cfg["SQLALCHEMY_ENGINE_OPTIONS"])
        connect_args = dict(engine_options.get("connect_args") or {})
        connect_args.setdefault("options", cfg["PG_SESSION_OPTIONS"])
        engine_options["connect_args"] = connect_args
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    return cfg
