"""Helpers shared by the physician views: error placement and the activation gate."""
from functools import wraps

from flask import flash, g, redirect, url_for
from flask_login import current_user

from services import DomainError
from web.auth import physician_required

NOT_ACTIVATED = "您的账户尚未激活，激活后可使用全部功能。请先完成账户激活。"


def me():
    """The signed-in account itself (not the proxy), for services and audit rows."""
    return current_user._get_current_object()


def place_errors(form, exc: DomainError) -> str | None:
    """Put each message next to its field; return what has no field (page-level)."""
    page = []
    for err in getattr(exc, "errors", None) or [exc]:
        field = getattr(form, err.field, None) if err.field else None
        if field is not None:
            field.errors = list(field.errors or []) + [err.message]
        else:
            page.append(err.message)
    return "；".join(page) or None


def activated_required(view):
    """Pages open only to activated accounts; before activation → the activation page."""
    @physician_required
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_activated:
            flash(NOT_ACTIVATED, "warning")
            return redirect(url_for("portal.activate"))
        g.account = me()
        return view(*args, **kwargs)
    return wrapped
