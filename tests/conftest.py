"""Test fixtures: one app and one database per test worker (SQLite file, or a PostgreSQL
database derived from TEST_DATABASE_URL), reference data loaded once, and every other table
emptied after each test so tests stay independent."""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.helpers import fresh_database_url

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_TABLES = {"region", "practice_scope", "treatment_subject", "reference_item", "holiday"}
_CONFIG = None


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def make_test_config(**overrides) -> dict:
    """The configuration every app in this worker uses (browser live servers included),
    so they all share one database."""
    global _CONFIG
    if _CONFIG is None:
        instance = Path(tempfile.mkdtemp(prefix=f"regsys-test-{_worker()}-"))
        # the worker's database and files go with it (a run left ~1 MB behind per worker)
        atexit.register(shutil.rmtree, instance, ignore_errors=True)
        base = os.environ.get("TEST_DATABASE_URL")
        uri = fresh_database_url() if base else f"sqlite:///{instance / 'test.sqlite3'}"
        _CONFIG = {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": uri,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "DATA_KEY": bytes(range(32)),
            "CAPTCHA_ENABLED": False,
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",  # cheap for tests; production uses 32768
            "TESTING": True,
        }
    cfg = dict(_CONFIG)
    cfg.update(overrides)
    return cfg


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (fresh `g` and database session), as under a
    real server, even while the test holds an app context for its factories."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app():
    from app import create_app
    from models import db
    from seed.reference import load_reference

    application = create_app(make_test_config())
    application.test_client_class = IsolatedClient
    with application.app_context():
        db.drop_all()
        db.create_all()
        load_reference()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    if not os.environ.get("TEST_DATABASE_URL"):
        shutil.rmtree(application.instance_path, ignore_errors=True)


def _empty_tables(db, attempts: int = 5):
    """Empty every non-reference table. On PostgreSQL a browser test's live server may still
    be answering a last request (an image, a late fetch) while TRUNCATE takes its locks
    table by table; the server then reports a deadlock and we simply try again."""
    import time

    from sqlalchemy.exc import OperationalError
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
    for attempt in range(attempts):
        try:
            with db.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    names = ", ".join(f'"{t.name}"' for t in tables)
                    conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                else:
                    for t in tables:
                        conn.execute(t.delete())
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture(autouse=True)
def _clean_db(request):
    """Empty every non-reference table after each test that used the app."""
    yield
    if "app" in request.fixturenames:
        application = request.getfixturevalue("app")
        from models import db
        with application.app_context():
            db.session.remove()
            _empty_tables(db)
        outbox = Path(application.config["OUTBOX_FILE"])
        if outbox.exists():
            outbox.unlink()


@pytest.fixture()
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture()
def db_session(app_ctx):
    from models import db
    yield db.session
    db.session.rollback()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def outbox(app):
    """Messages "sent" by the default outbox backend (instance/outbox.jsonl)."""
    from tests.helpers import Outbox
    return Outbox(Path(app.config["OUTBOX_FILE"]))


@pytest.fixture()
def make(app_ctx):
    """Factories bound to the test's app context: make.institution(), make.physician() …"""
    from tests import factories
    return factories


@pytest.fixture()
def login_as(app, client):
    """login_as(user) — sign a physician or console user in on `client` (no captcha/2FA)."""
    from tests.helpers import login_client

    def _login(user, c=None):
        return login_client(app, c or client, user)
    return _login
