"""Property-based fuzzing of every POST form a role can open (found by walking the GET pages
of its area, so forms added later are fuzzed too): random, unicode, very long and empty values,
with a valid CSRF token → never a 500; a rejected submission (the form shown again, 200)
stores nothing (row counts unchanged, logs and throttling rows aside)."""
import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import text_of

# tables that record attempts themselves (throttling, audit, sessions, codes sent)
LOG_TABLES = {"login_attempt", "audit_log", "user_session", "verification_code",
              "outbox_message", "trusted_device"}
SKIP_ACTION = re.compile(r"logout|/resend|delete|withdraw")
AREAS = {"anon": ("/physician/", "/org/", "/gov/", "/public/"),
         "physician": ("/physician/",), "org": ("/org/",)}

NASTY = ["", " ", "0", "-1", "99999999999999999999", "' OR '1'='1", "<script>alert(1)</script>",
         "{{7*7}}", "%s%s%n", "../../etc/passwd", "\u202eabc", "𠀀𠀁", "张三·李四", "\x00",
         "a" * 5000, "１２３４５６", "110105198503170011", "13912345678", "x@example.com",
         "2024-02-30", "NaN", "\r\n\r\nX-Injected: 1"]
values = st.one_of(st.sampled_from(NASTY), st.text(max_size=40),
                   st.text(min_size=300, max_size=3000), st.integers().map(str))


class _Forms(HTMLParser):
    """POST forms of a page: action and fields (name → kind, options)."""

    def __init__(self):
        super().__init__()
        self.forms, self._cur, self._select = [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._cur = {"action": a.get("action") or "", "fields": {}, "files": False}
            self.forms.append(self._cur)
        elif self._cur is not None and tag in ("input", "textarea", "select") and a.get("name"):
            kind = a.get("type", "text").lower() if tag == "input" else tag
            if kind == "file":
                self._cur["files"] = True
            self._cur["fields"].setdefault(a["name"], (kind, a.get("value"), []))
            if tag == "select":
                self._select = a["name"]
        elif tag == "option" and self._cur is not None and self._select:
            self._cur["fields"][self._select][2].append(a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._cur = None
        elif tag == "select":
            self._select = None


def _discover(app, client, prefixes):
    """(url, fields, csrf) of every POST form on the GET pages (no URL arguments) of the
    areas, as this client sees them."""
    found, seen = [], set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if ("GET" not in rule.methods or rule.arguments or "static" in rule.endpoint
                or not rule.rule.startswith(prefixes) or "export" in rule.rule):
            continue
        r = client.get(rule.rule)
        if r.status_code != 200 or "text/html" not in r.content_type:
            continue
        parser = _Forms()
        parser.feed(text_of(r))
        for form in parser.forms:
            action = form["action"] or rule.rule
            action = action if action.startswith("/") else rule.rule
            if SKIP_ACTION.search(action) or "csrf_token" not in form["fields"]:
                continue
            key = (action.split("?")[0], tuple(sorted(form["fields"])))
            if key in seen:
                continue
            seen.add(key)
            found.append((action, form["fields"], form["fields"]["csrf_token"][1]))
    return found


def _counts(db):
    """Row count of every table but the log tables, in one round trip."""
    tables = [t for t in db.metadata.sorted_tables if t.name not in LOG_TABLES]
    query = sa.select(*[sa.select(sa.func.count()).select_from(t).scalar_subquery()
                        .label(t.name) for t in tables])
    with db.engine.connect() as conn:
        return dict(conn.execute(query).mappings().one())


def _fill(data, fields):
    form = {}
    for name, (kind, value, options) in fields.items():
        if name == "csrf_token":
            form[name] = value
        elif kind in ("submit", "button", "image"):
            if data.draw(st.booleans()):
                form[name] = value or "1"
        elif kind in ("checkbox", "radio"):
            if data.draw(st.booleans()):
                form[name] = value or "y"
        elif kind == "select" and options and data.draw(st.booleans()):
            form[name] = data.draw(st.sampled_from(options))
        elif kind == "hidden" and data.draw(st.booleans()):
            form[name] = value or ""
        else:
            form[name] = data.draw(values)
    return form


@pytest.fixture()
def fuzz_client(app, make, login_as, request):
    role = request.param
    client = app.test_client()
    if role == "physician":
        inst = make.institution()
        p, _ = make.registered_physician(inst)
        login_as(make.physician_account(p, institution_obj=inst), client)
    elif role == "org":
        login_as(make.institution_admin(), client)
    return role, client, _discover(app, client, AREAS[role])


@pytest.mark.parametrize("fuzz_client", ["anon", "physician", "org"], indirect=True)
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_forms_never_fail_and_store_nothing_when_rejected(app, fuzz_client, data):
    from models import db
    role, client, forms = fuzz_client
    assert forms, f"no POST form found for {role}"
    for action, fields, _ in forms:
        form = _fill(data, fields)
        with app.app_context():
            before = _counts(db)
        try:
            resp = client.post(action, data=form)
        except Exception as exc:  # TESTING propagates errors: this is the 500
            raise AssertionError(f"{role} POST {action} {form!r}: {exc!r}") from exc
        assert resp.status_code < 500, (role, action, form)
        if resp.status_code == 200:
            with app.app_context():
                after = _counts(db)
            assert after == before, (role, action, form,
                                     {k: (before[k], after[k]) for k in before
                                      if before[k] != after[k]})


def test_the_login_forms_are_among_the_fuzzed(app, client):
    actions = {a for a, _, _ in _discover(app, client, AREAS["anon"])}
    assert {"/physician/login", "/org/login", "/gov/login"} <= {a.split("?")[0]
                                                                for a in actions}


def test_nul_characters_are_refused_before_any_view(app, client):
    from tests.helpers import csrf_token
    page = client.get("/physician/login")
    r = client.post("/physician/login", data={"csrf_token": csrf_token(text_of(page)),
                                              "login_name": "abc\x00def", "password": "x",
                                              "captcha": "x"})
    assert r.status_code == 400 and "请求无效" in text_of(r)
    assert client.get("/public/?q=%00").status_code == 400
    assert client.get("/physician/login?next=/physician/%00").status_code == 400
