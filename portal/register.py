"""P1 registration (two steps + summary), P2 identity update, and the public guide pages."""
import time

from flask import abort, redirect, render_template, session, url_for
from flask_login import current_user

from forms.portal import IdentityForm, RegisterStep1Form, RegisterStep2Form
from models.enums import AccountState
from models.identity import decrypt_id_number, encrypt_id_number
from services import DomainError
from services.accounts import check_identity, register as create_account, update_identity
from web.auth import current_actor, physician_required, sign_in
from web.common import check_captcha

from . import bp
from .common import me, place_errors

STEP1_TTL = 30 * 60


def _step1():
    data = session.get("register_step1")
    if not data or time.time() - data.get("at", 0) > STEP1_TTL:
        return None
    try:
        return data["name"], decrypt_id_number(bytes.fromhex(data["id"]))
    except Exception:  # tampered or from another key: start again
        return None


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterStep1Form()
    error = None
    if form.validate_on_submit():
        if not check_captcha(form.captcha.data):
            form.captcha.errors = ["验证码错误，请重新输入。"]
        else:
            try:
                name, id_number = check_identity(form.name.data, form.id_number.data)
            except DomainError as exc:
                error = place_errors(form, exc)
            else:
                session["register_step1"] = {"name": name,
                                             "id": encrypt_id_number(id_number).hex(),
                                             "at": int(time.time())}
                return redirect(url_for("portal.register_account"))
    return render_template("portal/register_step1.html", form=form, error=error)


@bp.route("/register/account", methods=["GET", "POST"], endpoint="register_account")
def register_step2():
    step1 = _step1()
    if step1 is None:
        return redirect(url_for("portal.register"))
    form = RegisterStep2Form()
    error = None
    if form.validate_on_submit():
        try:
            account, summary = create_account(
                current_actor(), name=step1[0], id_number=step1[1], phone=form.phone.data,
                email=form.email.data, username=form.username.data,
                password=form.password.data, confirm=form.confirm.data)
        except DomainError as exc:
            error = place_errors(form, exc)
        else:
            sign_in(account)  # new session; step-1 data is cleared with the old one
            session["register_summary"] = summary
            return redirect(url_for("portal.register_done"))
    return render_template("portal/register_step2.html", form=form, error=error,
                           name=step1[0])


@bp.route("/register/done")
@physician_required
def register_done():
    summary = session.get("register_summary")
    if not summary:
        return redirect(url_for("portal.activate"))
    return render_template("portal/register_done.html", summary=summary)


@bp.route("/identity", methods=["GET", "POST"])
@physician_required
def identity():
    """检查和更新我的身份信息 (only while nothing was found in the register)."""
    acct = me()
    if acct.state != AccountState.REGISTERED:
        return redirect(url_for("portal.activate"))
    form = IdentityForm()
    error = None
    if not form.is_submitted():
        form.name.data = acct.name
    if form.validate_on_submit():
        try:
            update_identity(current_actor(), acct, form.name.data, form.id_number.data)
        except DomainError as exc:
            error = place_errors(form, exc)
        else:
            return redirect(url_for("portal.activate"))
    return render_template("portal/identity.html", form=form, error=error)


GUIDES = {
    "old": "老人老办法医师资格信息修改及补录指南",
    "new": "新人新办法医师资格信息修改及补录指南",
    "military": "军队离休及复转退人员医师资格信息补录指南",
    "usage": "医师个人版使用说明",
    "register": "注册说明",
}


@bp.route("/guide/<slug>")
def guide_page(slug):
    if slug not in GUIDES:
        abort(404)
    return render_template(f"portal/guides/{slug}.html", title=GUIDES[slug])


@bp.route("/guide")
def guide():
    return redirect(url_for("portal.guide_page", slug="usage"))
