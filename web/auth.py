"""Flask-Login wiring for the two account kinds and the role guards of every surface."""
from functools import wraps

from flask import abort, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from extensions import login_manager
from models import db
from models.enums import AccountState, ConsoleRole, UserKind
from services import Actor
from services import audit
from services.sessions import end_session, load_session_user, start_session


def install(app):
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.login_message = "请先登录。"

    @login_manager.user_loader
    def _load(token):
        user = load_session_user(token)
        if user is None or not user.is_active:
            return None
        user._session_token = token
        return user

    @app.before_request
    def _force_initial_password_change():
        """Console accounts created with a generated password change it before anything else."""
        user = current_user
        if (getattr(user, "is_authenticated", False) and user.kind == UserKind.CONSOLE
                and user.must_change_password and request.endpoint
                and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS
                and not request.endpoint.endswith("static")
                and not request.endpoint.startswith("console_auth.")):
            target = "org_security.index" if user.role == ConsoleRole.INSTITUTION_ADMIN \
                else "gov_security.index"
            return redirect(url_for(target))

    @login_manager.unauthorized_handler
    def _unauthorized():
        path = request.path
        if path.startswith("/org"):
            return redirect(url_for("console_auth.org_login", next=path))
        if path.startswith("/gov"):
            return redirect(url_for("console_auth.gov_login", next=path))
        return redirect(url_for("portal.login", next=path))


PASSWORD_CHANGE_ENDPOINTS = {"org_security.index", "gov_security.index", "common.captcha_image",
                             "common.healthz"}


def client_ip() -> str:
    return request.remote_addr or ""


def current_actor() -> Actor:
    u = current_user
    if not getattr(u, "is_authenticated", False):
        return Actor(UserKind.SYSTEM, None, "匿名", client_ip())
    if u.kind == UserKind.PHYSICIAN:
        return Actor(UserKind.PHYSICIAN, u.id, f"{u.name}({u.username})", client_ip())
    return Actor(UserKind.CONSOLE, u.id, f"{u.display_name}({u.username})", client_ip(),
                 institution_id=u.institution_id, authority_id=u.authority_id)


def sign_in(user) -> None:
    """New session id at every login; the previous session (if any) is ended."""
    old = session.get("_user_id")
    if old:
        end_session(old)
    session.clear()
    token = start_session(user, client_ip(), request.headers.get("User-Agent", ""))
    user._session_token = token
    audit.record(Actor(user.kind, user.id, getattr(user, "display_name", None) or user.name,
                       client_ip(), getattr(user, "institution_id", None),
                       getattr(user, "authority_id", None)),
                 "login", user, detail="登录成功")
    db.session.commit()
    login_user(user, remember=False)


def sign_out() -> None:
    token = session.get("_user_id")
    if token:
        end_session(token)
        db.session.commit()
    logout_user()
    session.clear()


def is_physician(user=None) -> bool:
    user = user or current_user
    return getattr(user, "is_authenticated", False) and user.kind == UserKind.PHYSICIAN


def has_console_role(*roles: ConsoleRole, user=None) -> bool:
    user = user or current_user
    return (getattr(user, "is_authenticated", False) and user.kind == UserKind.CONSOLE
            and user.role in roles)


def physician_required(view):
    """Physician pages: anonymous → login; a console account → 403."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not getattr(current_user, "is_authenticated", False):
            return login_manager.unauthorized()
        if not is_physician():
            abort(403)
        g.account = current_user
        return view(*args, **kwargs)
    return wrapped
