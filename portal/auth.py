"""P5 login (用户名 / verified 手机号 / 资格证书编码) and logout of physicians."""
from flask import flash, redirect, render_template, request, url_for

from forms.auth import PhysicianLoginForm
from services import DomainError
from services.accounts import verify
from services.auth import authenticate_physician
from web.auth import client_ip, current_actor, sign_in, sign_out
from web.common import check_captcha

from . import bp


def _safe_next():
    nxt = request.args.get("next") or ""
    return nxt if nxt.startswith("/physician/") and not nxt.startswith("//") else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = PhysicianLoginForm()
    error = None
    if form.validate_on_submit():
        if not check_captcha(form.captcha.data):
            form.captcha.errors = ["验证码错误，请重新输入。"]
        else:
            try:
                account = authenticate_physician(form.login_name.data, form.password.data,
                                                 client_ip())
            except DomainError as exc:
                error = exc.message
            else:
                sign_in(account)
                if not account.is_activated:
                    # P2: match the account against the register at every login until it is
                    # activated (the register may have been completed meanwhile)
                    verify(current_actor(), account)
                    return redirect(url_for("portal.activate"))
                return redirect(_safe_next() or url_for("portal.home"))
    return render_template("portal/login.html", form=form, error=error)


@bp.route("/logout", methods=["POST"])
def logout():
    sign_out()
    flash("您已安全退出。", "info")
    return redirect(url_for("portal.login"))
