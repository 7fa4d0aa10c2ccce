"""找回密码 for the two consoles (/org/forgot, /gov/forgot): user name + reserved phone →
SMS code → new password. Throttled, audited; ends every session of the account."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from services import DomainError
from services.console_account import finish_recovery, start_recovery
from web.auth import client_ip
from web.common import check_captcha

from .auth import AREAS

bp = Blueprint("console_recovery", __name__)
SESSION_KEY = "console_recovery"


def _forgot(area):
    errors, username, phone = {}, "", ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:32]
        phone = (request.form.get("phone") or "").strip()[:20]
        if not username:
            errors["username"] = "请输入用户名。"
        if not phone:
            errors["phone"] = "请输入预留手机号。"
        if not check_captcha(request.form.get("captcha")):
            errors["captcha"] = "验证码错误，请重新输入。"
        if not errors:
            try:
                uid = start_recovery(area, username, phone, client_ip())
            except DomainError as exc:
                errors[exc.field or "phone"] = exc.message
            else:
                session[SESSION_KEY] = {"area": area, "uid": uid}
                flash("校验码已发送到预留手机，请在10分钟内完成密码重置。", "info")
                return redirect(url_for(f"console_auth.{area}_forgot_reset"))
    return render_template("console/forgot.html", area=area, errors=errors, username=username,
                           phone=phone, **AREAS[area])


def _reset(area):
    state = session.get(SESSION_KEY) or {}
    if state.get("area") != area or not state.get("uid"):
        return redirect(url_for(f"console_auth.{area}_forgot"))
    errors = {}
    if request.method == "POST":
        try:
            finish_recovery(area, state["uid"], request.form.get("code", "").strip(),
                            request.form.get("new_password", ""),
                            request.form.get("confirm_password", ""), client_ip())
        except DomainError as exc:
            errors[exc.field or "code"] = exc.message
        else:
            session.pop(SESSION_KEY, None)
            flash("密码已重置，请使用新密码登录。", "info")
            return redirect(url_for(f"console_auth.{area}_login"))
    return render_template("console/forgot_reset.html", area=area, errors=errors,
                           **AREAS[area])


def register(app):
    """Routes live under the console_auth names the login template links to
    (`console_auth.<area>_forgot`)."""
    auth_bp = app.blueprints["console_auth"]
    for area in AREAS:
        app.add_url_rule(f"/{area}/forgot", f"{auth_bp.name}.{area}_forgot",
                         (lambda a: lambda: _forgot(a))(area), methods=["GET", "POST"])
        app.add_url_rule(f"/{area}/forgot/reset", f"{auth_bp.name}.{area}_forgot_reset",
                         (lambda a: lambda: _reset(a))(area), methods=["GET", "POST"])
