"""Each demo role logs in from Chromium and reaches its Chinese home (issue 2 acceptance)."""
import json
import re
from pathlib import Path

import pytest

from tests.browser.waiting import page_text


@pytest.fixture()
def demo(app):
    from seed.commands import demo_json_path, ensure_demo_data
    with app.app_context():
        ensure_demo_data()
        return json.loads(Path(demo_json_path()).read_text(encoding="utf-8"))


def _outbox_code(app, phone):
    path = Path(app.config["OUTBOX_FILE"])
    bodies = [json.loads(line)["body"] for line in path.read_text(encoding="utf-8").splitlines()
              if json.loads(line)["to"] == phone]
    assert bodies, (phone, path.read_text(encoding="utf-8")[-500:] if path.exists() else "no outbox file")
    return re.search(r"\d{6}", bodies[-1]).group(0)


def _console_phone(app, username):
    from models import db
    from models.account import ConsoleUser
    import sqlalchemy as sa
    with app.app_context():
        return db.session.scalar(sa.select(ConsoleUser.phone).where(ConsoleUser.username == username))


def test_every_demo_role_logs_in_and_sees_its_home(browser, live_server, app, demo):
    roles = {"physician", "institution", "commission", "sysadmin", "auditor"}
    picked = {}
    for account in demo["accounts"]:
        if account["role"] in roles and account["role"] not in picked and \
                account.get("state", "已激活") == "已激活":
            picked[account["role"]] = account
    assert set(picked) == roles
    for role, account in picked.items():
        ctx = browser.new_context(base_url=str(live_server), locale="zh-CN")
        page = ctx.new_page()
        try:
            page.goto(account["login_url"])
            assert page.locator("html").get_attribute("lang") == "zh-CN"
            if role == "physician":
                page.get_by_label("用户名/手机号码/资格证书编码").fill(account["username"])
            else:
                page.get_by_label("用户名", exact=True).fill(account["username"])
            page.get_by_label("密码", exact=True).fill(account["password"])
            page.get_by_label("验证码").fill("ANY1")
            page.get_by_role("button", name="登录").click()
            if role != "physician":
                # first login from this browser: the SMS code to the reserved phone
                page.get_by_label("短信校验码").fill(_outbox_code(app, _console_phone(app, account["username"])))
                page.get_by_role("button", name="确定").click()
            page.wait_for_load_state()
            body = page_text(page)
            assert "退出" in body, (role, body[:300])
            if role == "physician":
                assert page.url.endswith("/physician/")
            elif role == "institution":
                assert page.url.endswith("/org/") and account["institution"] in body
                assert "本院执业医师信息" in body
            else:
                assert page.url.endswith("/gov/") and account["authority"] in body
        finally:
            ctx.close()
