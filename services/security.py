"""Passwords, random codes and throttling."""
import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from models import db
from models.account import LoginAttempt
from models.institution import utcnow

# No look-alike characters (0/O, 1/I/L, 2/Z, 5/S, 8/B)
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"

_dummy_hash = None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Always one hash: an unknown user costs the same as a known one."""
    global _dummy_hash
    if not stored_hash:
        if _dummy_hash is None:
            _dummy_hash = hash_password(secrets.token_hex(8))
        check_password_hash(_dummy_hash, password)
        return False
    return check_password_hash(stored_hash, password)


_COMMON_PASSWORDS: frozenset | None = None


def is_common_password(password: str) -> bool:
    """True for a password on the bundled list (seed/data/common_passwords.txt), compared
    case-insensitively; used by the physician and the console password rules."""
    global _COMMON_PASSWORDS
    if _COMMON_PASSWORDS is None:
        from pathlib import Path
        path = Path(__file__).resolve().parent.parent / "seed" / "data" / "common_passwords.txt"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        _COMMON_PASSWORDS = frozenset(x.strip().lower() for x in lines
                                      if x.strip() and not x.startswith("#"))
    return (password or "").strip().lower() in _COMMON_PASSWORDS


def random_code(length: int = 8, alphabet: str = CODE_ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def numeric_code(length: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def code_digest(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, code.strip().upper().encode(), hashlib.sha256).hexdigest()


def codes_equal(stored_digest: str, code: str) -> bool:
    return hmac.compare_digest(stored_digest, code_digest(code))


# ---- throttling -----------------------------------------------------------------------

def _window_start():
    return utcnow() - dt.timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])


_PLAIN_KEY_PREFIXES = ("ip:", "acct:", "console:", "id:")


def _stored_key(key: str) -> str:
    """Keys made of what a visitor typed (a login name may be a 身份证号 or a phone) are
    stored as a keyed digest; internal ids and addresses as they are."""
    key = key or ""
    if not key or key.startswith(_PLAIN_KEY_PREFIXES):
        return key
    secret = current_app.config["SECRET_KEY"].encode()
    return "h:" + hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def failures(scope: str, key: str) -> int:
    """Failures since the window start and since the last success for this key."""
    key = _stored_key(key)
    since = _window_start()
    last_ok = db.session.scalar(
        sa.select(sa.func.max(LoginAttempt.at)).where(
            LoginAttempt.scope == scope, LoginAttempt.key == key,
            LoginAttempt.success.is_(True), LoginAttempt.at >= since))
    q = sa.select(sa.func.count()).select_from(LoginAttempt).where(
        LoginAttempt.scope == scope, LoginAttempt.key == key,
        LoginAttempt.success.is_(False), LoginAttempt.at >= (last_ok or since))
    return db.session.scalar(q) or 0


def is_locked(scope: str, key: str, ip: str | None = None) -> bool:
    cfg = current_app.config
    if key and failures(scope, key) >= cfg["LOGIN_MAX_FAILURES"]:
        return True
    if ip and failures(scope, "ip:" + ip) >= cfg["IP_MAX_FAILURES"]:
        return True
    return False


def note_attempt(scope: str, key: str, success: bool, ip: str | None = None) -> None:
    db.session.add(LoginAttempt(scope=scope, key=_stored_key(key), success=success))
    if ip and not success:
        db.session.add(LoginAttempt(scope=scope, key="ip:" + ip, success=False))
