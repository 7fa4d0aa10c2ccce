"""X1 messaging: e-mail over real SMTP (aiosmtpd on a free port), an SMTP outage keeps the
message pending with attempts+1 and a later delivery succeeds; codes use Chinese templates."""
import datetime as dt
import email
import email.policy
import socket
import time

import pytest
import sqlalchemy as sa

from models import db
from models.enums import MessageStatus
from models.messaging import OutboxMessage
from services import messaging

from aiosmtpd.controller import Controller




def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture()
def smtp_config(app):
    saved = {k: app.config[k] for k in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT",
                                        "MAIL_USE_TLS", "MAIL_USERNAME")}
    port = free_port()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                      MAIL_USE_TLS=False, MAIL_USERNAME="")
    yield port
    app.config.update(saved)


def start_server(port):
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, handler


def test_email_is_delivered_over_real_smtp(app_ctx, smtp_config):
    controller, handler = start_server(smtp_config)
    try:
        msg = messaging.queue_email("doc@example.com", "医师电子化注册信息系统：邮箱校验码",
                                    "您的校验码为：123456")
        db.session.commit()
        result = messaging.deliver_due()
    finally:
        controller.stop()
    assert result == {"sent": 1, "failed": 0}
    db.session.expire_all()
    row = db.session.get(OutboxMessage, msg.id)
    assert row.status == MessageStatus.SENT and row.attempts == 1 and row.sent_at
    (env,) = handler.messages
    assert env.rcpt_tos == ["doc@example.com"]
    parsed = email.message_from_bytes(env.content, policy=email.policy.default)
    assert parsed["Subject"] == "医师电子化注册信息系统：邮箱校验码"
    assert "123456" in parsed.get_content()


def test_smtp_outage_keeps_the_message_and_retries(app_ctx, smtp_config):
    msg = messaging.queue_email("doc@example.com", "找回登录账户", "校验码：654321")
    db.session.commit()
    result = messaging.deliver_due()  # nothing listens on the port
    assert result == {"sent": 0, "failed": 1}
    db.session.expire_all()
    row = db.session.get(OutboxMessage, msg.id)
    assert row.status == MessageStatus.PENDING and row.attempts == 1
    assert row.last_error and row.next_attempt_at > dt.datetime.utcnow()
    # not due yet: a second run does not touch it
    assert messaging.deliver_due() == {"sent": 0, "failed": 0}
    controller, handler = start_server(smtp_config)
    try:
        row.next_attempt_at = dt.datetime.utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
        assert messaging.deliver_due() == {"sent": 1, "failed": 0}
    finally:
        controller.stop()
    db.session.expire_all()
    row = db.session.get(OutboxMessage, msg.id)
    assert row.status == MessageStatus.SENT and row.attempts == 2 and row.last_error is None
    assert len(handler.messages) == 1


def test_verification_email_travels_through_smtp(app, client, make, login_as, smtp_config):
    """A code e-mail sent from the page arrives over SMTP with its Chinese template."""
    from tests import factories_portal as fp
    from tests.helpers import csrf_token, text_of
    controller, handler = start_server(smtp_config)
    try:
        inst, person, reg = fp.registry_physician()
        acct = fp.account_for(person, institution=inst, phone_verified=False)
        login_as(acct)
        page = client.get("/physician/security/email")
        r = client.post("/physician/security/email", data={
            "csrf_token": csrf_token(text_of(page)), "email": "me@example.com", "code": "",
            "send": "1"})
        assert "校验码已发送" in text_of(r)
        deadline = time.time() + 5
        while not handler.messages and time.time() < deadline:
            time.sleep(0.05)
    finally:
        controller.stop()
    (env,) = handler.messages
    parsed = email.message_from_bytes(env.content, policy=email.policy.default)
    body = parsed.get_content()
    assert "邮箱校验码" in parsed["Subject"] and "10分钟内有效" in body
    db.session.expire_all()
    assert db.session.scalar(sa.select(OutboxMessage.status)) == MessageStatus.SENT
