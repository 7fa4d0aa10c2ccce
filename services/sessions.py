"""Server-side sessions: revocable rows; the cookie carries only a random token."""
import datetime as dt
import functools
import secrets

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager

from models import db
from models.account import ConsoleUser, PhysicianAccount, UserSession
from models.enums import UserKind
from models.institution import utcnow

from .security import token_digest

TOUCH_EVERY = dt.timedelta(seconds=60)  # write last_seen at most once a minute


def start_session(user, ip: str = "", user_agent: str = "") -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=token_digest(token), user_kind=user.kind, user_id=user.id,
                               ip=ip[:64], user_agent=(user_agent or "")[:256]))
    return token


def end_session(token: str) -> None:
    db.session.execute(sa.update(UserSession).where(UserSession.id == token_digest(token),
                                                   UserSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))


def end_user_sessions(user, except_token: str | None = None) -> int:
    q = sa.update(UserSession).where(UserSession.user_kind == user.kind,
                                     UserSession.user_id == user.id,
                                     UserSession.revoked_at.is_(None))
    if except_token:
        q = q.where(UserSession.id != token_digest(except_token))
    return db.session.execute(q.values(revoked_at=utcnow())).rowcount


@functools.cache
def _session_user_query():
    """load_session_user's statement, built once (every request runs it; building the
    select with its joins and eager options cost more than running it)."""
    return (
        sa.select(UserSession, PhysicianAccount, ConsoleUser)
        .outerjoin(PhysicianAccount, sa.and_(UserSession.user_kind == UserKind.PHYSICIAN,
                                             PhysicianAccount.id == UserSession.user_id))
        .outerjoin(ConsoleUser, sa.and_(UserSession.user_kind == UserKind.CONSOLE,
                                        ConsoleUser.id == UserSession.user_id))
        .outerjoin(PhysicianAccount.person)
        .outerjoin(ConsoleUser.institution).outerjoin(ConsoleUser.authority)
        .options(contains_eager(PhysicianAccount.person),
                 contains_eager(ConsoleUser.institution), contains_eager(ConsoleUser.authority))
        .where(UserSession.id == sa.bindparam("session_id")))


def load_session_user(token: str):
    """The user behind a live session token, or None (revoked, idle or too old).

    One statement for the session, its user, a physician's person (every portal page shows
    it) and a console user's institution and authority (every console page scopes by them):
    loaded onto the user, which lives for the request, so `current_user.authority` and
    lookups by primary key cost no further round trip."""
    found = db.session.execute(_session_user_query(),
                               {"session_id": token_digest(token)}).first()
    if found is None:
        return None
    row, physician, console_user = found
    if row.revoked_at is not None:
        return None
    now = utcnow()
    cfg = current_app.config
    if (now - row.last_seen_at > dt.timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
            or now - row.created_at > dt.timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])):
        row.revoked_at = now
        db.session.commit()
        return None
    user = physician if row.user_kind == UserKind.PHYSICIAN else console_user
    if user is None:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    return user
