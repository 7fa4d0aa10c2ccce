"""Checks the browser fixture machinery end to end: chromium -> live server -> app."""

import json

from tests.browser.waiting import page_text


def test_healthz_in_browser(page, live_server):
    response = page.goto(live_server + "/healthz")
    assert response is not None and response.status == 200
    text = response.text()
    assert '"db"' in text
    body = json.loads(text)
    assert body["db"], f"/healthz says the database is not reachable: {text}"
    # the browser really rendered it (not only fetched it)
    assert '"db"' in page_text(page)
