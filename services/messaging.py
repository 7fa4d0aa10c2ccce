"""X1 messaging: one outbox table, committed with the business change; a delivery step
sends due messages through the configured backend with retries and backoff.

Backends: `outbox` (default) appends one JSON line per message to instance/outbox.jsonl;
`smtp` sends e-mail over SMTP; SMS providers plug in through SMS_BACKENDS."""
import datetime as dt
import json
import smtplib
import threading
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

import sqlalchemy as sa
from flask import current_app

from models import db
from models.enums import MessageChannel, MessageStatus
from models.institution import utcnow
from models.messaging import OutboxMessage

MAX_ATTEMPTS = 8
_file_lock = threading.Lock()


def queue_sms(to: str, body: str) -> OutboxMessage:
    msg = OutboxMessage(channel=MessageChannel.SMS, to=to, subject="", body=body)
    db.session.add(msg)
    _mark_pending(msg)
    return msg


def queue_email(to: str, subject: str, body: str) -> OutboxMessage:
    msg = OutboxMessage(channel=MessageChannel.EMAIL, to=to, subject=subject, body=body)
    db.session.add(msg)
    _mark_pending(msg)
    return msg


def queue_many(rows: list[dict]) -> list[int]:
    """Bulk-queue messages (dicts of OutboxMessage columns); one INSERT … RETURNING."""
    ids = list(db.session.scalars(sa.insert(OutboxMessage).returning(OutboxMessage.id), rows))
    try:
        from flask import g
        g.setdefault("outbox_queued_ids", []).extend(ids)
    except RuntimeError:
        pass
    return ids


def _mark_pending(msg):
    """Remember the messages this request queued, so they are sent before it answers."""
    try:
        from flask import g
        g.setdefault("outbox_queued", []).append(msg)
    except RuntimeError:  # outside an app context (CLI scripts deliver themselves)
        pass


def queued_in_this_request() -> list[int]:
    """Ids of committed messages queued during this request (for immediate delivery)."""
    from flask import g
    from sqlalchemy import inspect as sa_inspect
    ids = list(g.pop("outbox_queued_ids", []))
    for m in g.pop("outbox_queued", []):
        state = sa_inspect(m)
        if state.has_identity and not state.deleted:
            ids.append(m.id)
    return ids


# ---- backends ---------------------------------------------------------------------------

class DeliveryError(Exception):
    pass


def _append_outbox_file(msg: OutboxMessage) -> None:
    line = json.dumps({"channel": msg.channel.value, "to": msg.to, "subject": msg.subject,
                       "body": msg.body, "created_at": msg.created_at.isoformat() + "Z"},
                      ensure_ascii=False)
    with _file_lock, open(current_app.config["OUTBOX_FILE"], "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def _send_smtp(msg: OutboxMessage) -> None:
    cfg = current_app.config
    em = EmailMessage()
    name, addr = parseaddr(cfg["MAIL_SENDER"])
    em["From"] = formataddr((name, addr))
    em["To"] = msg.to
    em["Subject"] = msg.subject
    em.set_content(msg.body, charset="utf-8")
    try:
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10) as smtp:
            if cfg["MAIL_USE_TLS"]:
                smtp.starttls()
            if cfg["MAIL_USERNAME"]:
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(em)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP: {exc.__class__.__name__}: {exc}") from exc


BACKENDS = {
    ("sms", "outbox"): _append_outbox_file,
    ("email", "outbox"): _append_outbox_file,
    ("email", "smtp"): _send_smtp,
}


def _backend_for(msg: OutboxMessage):
    cfg = current_app.config
    name = cfg["SMS_BACKEND"] if msg.channel == MessageChannel.SMS else cfg["MAIL_BACKEND"]
    return BACKENDS[(msg.channel.value, name)]


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def deliver_due(limit: int = 50, only_ids: list[int] | None = None) -> dict:
    """Send due messages; each is claimed by a conditional update so several workers can run."""
    now = utcnow()
    q = sa.select(OutboxMessage.id).where(OutboxMessage.status == MessageStatus.PENDING,
                                          OutboxMessage.next_attempt_at <= now)
    if only_ids is not None:
        q = q.where(OutboxMessage.id.in_(only_ids))
    ids = db.session.scalars(q.order_by(OutboxMessage.id).limit(limit)).all()
    sent = failed = 0
    for mid in ids:
        claim_until = now + dt.timedelta(minutes=5)
        claimed = db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == mid, OutboxMessage.status == MessageStatus.PENDING,
                   OutboxMessage.next_attempt_at <= now)
            .values(next_attempt_at=claim_until)).rowcount
        db.session.commit()
        if not claimed:
            continue
        msg = db.session.get(OutboxMessage, mid)
        try:
            _backend_for(msg)(msg)
        except Exception as exc:  # any backend failure is retried later; nothing is lost
            msg.attempts += 1
            msg.last_error = str(exc)[:500]
            if msg.attempts >= MAX_ATTEMPTS:
                msg.status = MessageStatus.FAILED
            else:
                msg.next_attempt_at = utcnow() + backoff(msg.attempts)
            failed += 1
        else:
            msg.attempts += 1
            msg.status = MessageStatus.SENT
            msg.sent_at = utcnow()
            msg.last_error = None
            sent += 1
        db.session.commit()
    return {"sent": sent, "failed": failed}
