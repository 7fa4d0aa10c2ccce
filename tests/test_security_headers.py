"""Security headers on every kind of page, the generic error pages, cookie flags, no
remember-me, DEBUG off by default."""
import pytest

from tests.helpers import csrf_token, text_of


def _directives(csp: str) -> dict:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def assert_security_headers(resp, where=""):
    csp = resp.headers.get("Content-Security-Policy")
    assert csp, f"no CSP on {where}"
    d = _directives(csp)
    script = d.get("script-src") or d.get("default-src")
    assert script, f"no script-src on {where}"
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, where
    assert not any(s.startswith(("http:", "https:", "*")) or s == "*" for s in script), where
    assert d.get("frame-ancestors") == ["'none'"], where
    assert d.get("object-src") == ["'none'"], where
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", where
    assert resp.headers.get("Referrer-Policy") in ("same-origin", "no-referrer",
                                                    "strict-origin-when-cross-origin"), where
    assert resp.headers.get("X-Frame-Options") == "DENY", where


def _post_login(client, url, data):
    page = client.get(url)
    data = dict(data, csrf_token=csrf_token(text_of(page)), captcha="ANY")
    return client.post(url, data=data)


def test_every_page_type_carries_the_headers(app, client, make, login_as):
    pages = {}
    for url in ["/", "/physician/login", "/org/login", "/gov/login", "/healthz",
                "/captcha.png", "/no/such/page"]:
        pages[url] = client.get(url)
    assert pages["/no/such/page"].status_code == 404
    assert "页面不存在" in text_of(pages["/no/such/page"])
    # a CSRF failure (400)
    bad = client.post("/physician/login", data={"login_name": "x", "password": "y"})
    assert bad.status_code == 400 and "页面已过期" in text_of(bad)
    pages["csrf-400"] = bad
    # an anonymous redirect
    pages["/org/ anonymous"] = client.get("/org/")
    assert pages["/org/ anonymous"].status_code == 302
    # an institution-console page when logged in, and a 403 for a physician
    inst = make.institution()
    login_as(make.institution_admin(inst))
    for url in ["/org/", "/org/main-physicians/"]:
        r = client.get(url)
        assert r.status_code == 200, url
        pages[url + " (logged in)"] = r
    other = app.test_client()
    login_as(make.physician_account(), other)
    r = other.get("/org/")
    assert r.status_code == 403 and "无权访问" in text_of(r)
    pages["403"] = r
    for where, resp in pages.items():
        assert_security_headers(resp, where)
    # private pages are never cached
    assert pages["/org/main-physicians/ (logged in)"].headers["Cache-Control"] == "no-store"


def test_flask_admin_inline_scripts_carry_the_nonce(app, client, make, login_as):
    """Flask-Admin's own inline <script> blocks must use the per-request nonce, otherwise the
    CSP (rightly) blocks them; no page may contain an inline script without it."""
    import re
    login_as(make.institution_admin())
    for url in ["/", "/physician/login", "/org/login", "/org/", "/org/main-physicians/"]:
        r = client.get(url)
        html = text_of(r)
        nonce = re.search(r"'nonce-([^']+)'", r.headers["Content-Security-Policy"]).group(1)
        for tag in re.findall(r"<script\b[^>]*>", html):
            if "src=" in tag:
                src = re.search(r'src="([^"]+)"', tag).group(1)
                assert src.startswith("/"), (url, src)  # no external script
            else:
                assert f'nonce="{nonce}"' in tag, (url, tag)
        # inline event handlers would be blocked by the CSP; the only one allowed is
        # Flask-Admin's filter menu `onclick="return false;"` (its click is bound by
        # bs4_filters.js, so blocking the attribute changes nothing)
        rest = re.sub(r"<script.*?</script>", "", html, flags=re.S)
        rest = rest.replace('onclick="return false;"', "")
        assert not re.search(r"\son[a-z]+\s*=", rest), url


@pytest.fixture()
def crash_app():
    """A separate app instance (same test database) with a route that fails, so the shared
    session app never gets test-only routes."""
    from app import create_app
    from models import db
    from tests.conftest import make_test_config
    application = create_app(make_test_config(PROPAGATE_EXCEPTIONS=False))

    @application.route("/__test_crash")
    def _crash():
        raise RuntimeError("secret-internal-detail File \"/srv/app.py\"")

    yield application
    with application.app_context():
        db.engine.dispose()


def test_server_error_is_generic_chinese_with_correlation_id(crash_app, caplog):
    import logging
    client = crash_app.test_client()
    with caplog.at_level(logging.ERROR):
        r = client.get("/__test_crash")
    assert r.status_code == 500
    html = text_of(r)
    assert "系统繁忙" in html and "系统处理时出现错误" in html
    import re
    m = re.search(r"错误编号：([0-9a-f]{12})", html)
    assert m, html
    assert "Traceback" not in html and "secret-internal-detail" not in html
    assert "RuntimeError" not in html and "/srv/app.py" not in html
    assert_security_headers(r, "500")
    # the correlation id of one request differs from the next
    r2 = client.get("/__test_crash")
    assert re.search(r"错误编号：([0-9a-f]{12})", text_of(r2)).group(1) != m.group(1)


def test_debug_is_off_by_default(tmp_path, monkeypatch):
    from config import build_config
    for var in ("FLASK_DEBUG", "DEBUG", "SESSION_COOKIE_SECURE"):
        monkeypatch.delenv(var, raising=False)
    cfg = build_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                        "DATA_KEY": bytes(32)})
    assert cfg["DEBUG"] is False and cfg["TESTING"] is False
    assert cfg["SESSION_COOKIE_HTTPONLY"] is True and cfg["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert cfg["SESSION_COOKIE_SECURE"] is False
    assert cfg["CAPTCHA_ENABLED"] is True and cfg["CONSOLE_2FA_ENABLED"] is True
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    assert build_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                         "DATA_KEY": bytes(32)})["SESSION_COOKIE_SECURE"] is True


def test_the_app_under_test_does_not_run_in_debug(app):
    assert app.debug is False


def _cookies(resp) -> dict:
    out = {}
    for raw in resp.headers.getlist("Set-Cookie"):
        name = raw.split("=", 1)[0]
        attrs = {a.strip().split("=")[0].lower() for a in raw.split(";")[1:]}
        samesite = [a.strip().split("=")[1] for a in raw.split(";")[1:]
                    if a.strip().lower().startswith("samesite=")]
        out[name] = (attrs, samesite[0] if samesite else None)
    return out


def _login_flows(application, make, outbox):
    """Physician login, console login with the SMS step: every Set-Cookie seen."""
    seen = {}
    inst = make.institution()
    make.physician_account(username="cookie0001", institution_obj=inst)
    make.institution_admin(inst, username="cookieorg1", phone="13600004321")
    c = application.test_client()
    r = _post_login(c, "/physician/login", {"login_name": "cookie0001", "password": "Passw0rd1"})
    assert r.status_code == 302
    seen.update(_cookies(r))
    home = c.get("/physician/")
    seen.update(_cookies(c.post("/physician/logout",
                                data={"csrf_token": csrf_token(text_of(home))})))
    c = application.test_client()
    r = _post_login(c, "/org/login", {"username": "cookieorg1", "password": "Admin2026x",
                                      "remember_username": "y"})
    seen.update(_cookies(r))
    page = c.get("/org/login/verify")
    r = c.post("/org/login/verify", data={"csrf_token": csrf_token(text_of(page)),
                                          "code": outbox.last_code(to="13600004321")})
    assert r.status_code == 302
    seen.update(_cookies(r))
    return seen


def test_cookie_flags_and_no_remember_me(app, make, outbox):
    seen = _login_flows(app, make, outbox)
    assert "session" in seen and "regsys_device" in seen
    for name, (attrs, samesite) in seen.items():
        assert "httponly" in attrs, name
        assert samesite == "Lax", name
        assert "secure" not in attrs, name  # plain http in tests
    assert not any("remember" in name.lower() for name in seen), seen


@pytest.fixture()
def https_app():
    from app import create_app
    from models import db
    from tests.conftest import IsolatedClient, make_test_config
    application = create_app(make_test_config(SESSION_COOKIE_SECURE=True))
    application.test_client_class = IsolatedClient
    yield application
    with application.app_context():
        db.engine.dispose()


def test_cookies_are_secure_when_configured(app, https_app, make, outbox):
    seen = _login_flows(https_app, make, outbox)
    assert "session" in seen and "regsys_device" in seen and "org_username" in seen
    for name, (attrs, samesite) in seen.items():
        assert {"secure", "httponly"} <= attrs, name
        assert samesite == "Lax", name
    assert not any("remember" in name.lower() for name in seen), seen
