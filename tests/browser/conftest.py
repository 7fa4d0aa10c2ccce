"""Fixtures for the browser tests (Playwright, sync API, Debian's chromium).

- ``browser``: ONE headless chromium per test session (per xdist worker),
  started from /usr/bin/chromium; never downloads a browser.
- ``live_server``: the app served by werkzeug in a background thread on
  127.0.0.1 and a free port; one per test module, with its own app built by
  ``create_app(tests.conftest.make_test_config())`` on the database that the
  session ``app`` fixture (tests/conftest.py) set up.
- ``page``: a fresh context + page per test, base_url = live_server,
  locale zh-CN.

When chromium (or playwright) is missing the browser tests are skipped, except
under CI=true, where they fail: CI must never go green without running them.
Every test under tests/browser/ is marked ``browser`` (``-m "not browser"``
leaves them out).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_TIMEOUT_MS = 10_000

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _unavailable(reason: str):
    """Skip locally, fail in CI."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: browser tests must run in CI; "
                    "run scripts/install_ci_deps.sh)", pytrace=False)
    pytest.skip(f"{reason}; run scripts/install_ci_deps.sh to enable browser tests")


# --------------------------------------------------------------------------- markers

def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: end-to-end test driving headless chromium (tests/browser)")


@pytest.hookimpl(tryfirst=True)  # before -m deselection
def pytest_collection_modifyitems(config, items):
    # This hook sees every collected item, not only ours: filter by path.
    for item in items:
        try:
            path = Path(str(item.path)).resolve()
        except Exception:  # pragma: no cover - exotic item types
            continue
        if HERE == path or HERE in path.parents:
            item.add_marker(pytest.mark.browser)


# --------------------------------------------------------------------------- browser

@pytest.fixture(scope="session")
def playwright_instance():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - requirements.txt has it
        _unavailable(f"python playwright is not installed ({exc})")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"chromium not found at {CHROMIUM}")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance):
    b = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


# --------------------------------------------------------------------------- live server

def _make_test_config_func(config):
    """tests.conftest.make_test_config, from the conftest pytest already loaded."""
    target = ROOT / "tests" / "conftest.py"
    for plugin in config.pluginmanager.get_plugins():
        f = getattr(plugin, "__file__", None)
        if f and Path(f).resolve() == target and hasattr(plugin, "make_test_config"):
            return plugin.make_test_config
    import importlib
    return importlib.import_module("tests.conftest").make_test_config


class LiveServer(str):
    """The base URL (``str``, e.g. ``http://127.0.0.1:41234``) plus ``.app``."""

    app = None

    def url(self, path: str = "/") -> str:
        return self + path


@pytest.fixture(scope="module")
def live_server(request, app):
    """Serve a separate app instance on the same test database.

    Depends on the session ``app`` fixture of tests/conftest.py, which creates the
    schema and reference data and whose autouse cleaner empties the tables after
    every test that (transitively) uses ``app``.
    """
    from werkzeug.serving import make_server

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from app import create_app

    make_test_config = _make_test_config_func(request.config)
    live_app = create_app(make_test_config())
    # Port 0: the OS picks a free port at bind time (no race with other runs).
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live_server", daemon=True)
    thread.start()
    url = LiveServer(f"http://127.0.0.1:{server.server_port}")
    url.app = live_app
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        ext = live_app.extensions.get("sqlalchemy")
        if ext is not None:  # release this app's pool (PostgreSQL connections)
            with live_app.app_context():
                for engine in ext.engines.values():
                    engine.dispose()


@pytest.fixture()
def context(browser, live_server):
    ctx = browser.new_context(
        base_url=str(live_server), locale="zh-CN", timezone_id="Asia/Shanghai")
    ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
    ctx.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context):
    return context.new_page()
