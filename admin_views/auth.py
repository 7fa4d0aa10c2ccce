"""Login, second factor and logout of the two consoles (/org/login, /gov/login)."""
import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_login import current_user

from forms.auth import ConsoleLoginForm, LoginCodeForm
from models import db
from models.account import ConsoleUser
from services import DomainError
from services.auth import (CONSOLE_AREAS, authenticate_console, is_trusted_device,
                           send_console_login_code, verify_console_login_code)
from web.auth import client_ip, sign_in, sign_out
from web.common import check_captcha

bp = Blueprint("console_auth", __name__)

AREAS = {
    "org": {"title": "医师电子化注册信息系统（机构端）", "subtitle": "医疗机构版系统登录",
            "home": "org.index"},
    "gov": {"title": "医师电子化注册信息系统（审批端）", "subtitle": "卫生健康行政部门系统登录",
            "home": "gov.index"},
}
DEVICE_COOKIE = "regsys_device"
USERNAME_COOKIE = {"org": "org_username", "gov": "gov_username"}


def _safe_next(area):
    nxt = request.args.get("next") or ""
    if nxt.startswith(f"/{area}/") and not nxt.startswith("//"):
        return nxt
    return url_for(AREAS[area]["home"])


def _login(area):
    form = ConsoleLoginForm()
    if request.method == "GET":
        form.username.data = request.cookies.get(USERNAME_COOKIE[area], "")
        form.remember_username.data = bool(form.username.data)
    error = None
    if form.validate_on_submit():
        if not check_captcha(form.captcha.data):
            form.captcha.errors = ["验证码错误，请重新输入。"]
        else:
            try:
                user = authenticate_console(area, form.username.data, form.password.data,
                                            client_ip())
            except DomainError as exc:
                error = exc.message
            else:
                resp = _after_password(area, user)
                if form.remember_username.data:
                    resp.set_cookie(USERNAME_COOKIE[area], user.username, max_age=180 * 86400,
                                    httponly=True, samesite="Lax",
                                    secure=current_app.config["SESSION_COOKIE_SECURE"])
                else:
                    resp.delete_cookie(USERNAME_COOKIE[area])
                return resp
    return render_template("console/login.html", form=form, area=area, error=error,
                           **AREAS[area])


def _after_password(area, user):
    if (not current_app.config["CONSOLE_2FA_ENABLED"]
            or is_trusted_device(user, request.cookies.get(DEVICE_COOKIE))):
        sign_in(user)
        return redirect(_safe_next(area))
    session.clear()
    session["pending_console_user"] = user.id
    session["pending_area"] = area
    try:
        send_console_login_code(user, client_ip())
    except DomainError as exc:
        flash(exc.message, "warning")
    return redirect(url_for(f"console_auth.{area}_verify"))


def _verify(area):
    uid = session.get("pending_console_user")
    if not uid or session.get("pending_area") != area:
        return redirect(url_for(f"console_auth.{area}_login"))
    # the pending account must belong to this console (same rule as the password step)
    user = db.session.scalar(sa.select(ConsoleUser).where(
        ConsoleUser.id == uid, ConsoleUser.role.in_(CONSOLE_AREAS[area]),
        ConsoleUser.active.is_(True)))
    if user is None:
        abort(404)
    form = LoginCodeForm()
    if request.method == "POST" and request.form.get("resend"):
        try:
            send_console_login_code(user, client_ip())
            flash("校验码已重新发送。", "info")
        except DomainError as exc:
            flash(exc.message, "warning")
        return redirect(url_for(f"console_auth.{area}_verify"))
    if form.validate_on_submit():
        try:
            device_token = verify_console_login_code(user, form.code.data, client_ip())
        except DomainError as exc:
            form.code.errors = [exc.message]
        else:
            sign_in(user)
            resp = redirect(url_for(AREAS[area]["home"]))
            resp.set_cookie(DEVICE_COOKIE, device_token, max_age=365 * 86400, httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
            return resp
    from models.identity import mask_phone
    return render_template("console/verify.html", form=form, area=area,
                           phone=mask_phone(user.phone), **AREAS[area])


def _logout(area):
    sign_out()
    flash("您已安全退出。", "info")
    return redirect(url_for(f"console_auth.{area}_login"))


for _area in AREAS:
    bp.add_url_rule(f"/{_area}/login", f"{_area}_login",
                    (lambda a: lambda: _login(a))(_area), methods=["GET", "POST"])
    bp.add_url_rule(f"/{_area}/login/verify", f"{_area}_verify",
                    (lambda a: lambda: _verify(a))(_area), methods=["GET", "POST"])
    bp.add_url_rule(f"/{_area}/logout", f"{_area}_logout",
                    (lambda a: lambda: _logout(a))(_area), methods=["POST"])
