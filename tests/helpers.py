"""Small helpers for tests: signing a client in, reading the outbox, parsing pages."""
import json
import re
from pathlib import Path


def login_client(app, client, user):
    """Create a real server-side session for `user` and put its token in the client's
    session cookie, as a successful login would."""
    from models import db
    from services.sessions import start_session
    with app.app_context():
        user = db.session.merge(user)
        token = start_session(user, "127.0.0.1", "pytest")
        db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = token
        sess["_fresh"] = True
    return token


def fresh_database_url(tag: str = "") -> str:
    """An empty database: a new SQLite file, or a PostgreSQL database
    `<name>[_<tag>]_<worker>` next to TEST_DATABASE_URL (dropped first if it exists)."""
    import os
    import tempfile

    import sqlalchemy as sa
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{Path(tempfile.mkdtemp(prefix=f'regsys-{tag}-')) / 'db.sqlite3'}"
    url = sa.make_url(base).set(drivername="postgresql+psycopg")
    name = "_".join(filter(None, [url.database, tag,
                                  os.environ.get("PYTEST_XDIST_WORKER", "main")]))
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert m, "no csrf_token in page"
    return m.group(1)


def text_of(response) -> str:
    return response.get_data(as_text=True)


class Outbox:
    def __init__(self, path: Path):
        self.path = path

    def messages(self, channel=None, to=None) -> list[dict]:
        if not self.path.exists():
            return []
        rows = [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
        return [r for r in rows if (channel is None or r["channel"] == channel)
                and (to is None or r["to"] == to)]

    def last_code(self, to=None, digits=6) -> str:
        msgs = self.messages(to=to)
        assert msgs, f"no message to {to} in the outbox"
        m = re.search(r"(?<!\d)(\d{%d})(?!\d)" % digits, msgs[-1]["body"])
        assert m, f"no {digits}-digit code in: {msgs[-1]['body']}"
        return m.group(1)


def list_rows_text(html: str) -> list[str]:
    """The text of each data row of a console list page (Flask-Admin's model-list table)."""
    body = html.split("model-list", 1)[1].split("</table>", 1)[0].split("</thead>", 1)[-1]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]
