"""P3 contact verification, P4 activation, P6 recovery and P8 安全设置."""
import time

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from forms.portal import (ActivationCodeForm, EmailForm, PasswordChangeForm,
                          QualificationActivationForm, PhoneForm, RecoverEmailForm,
                          RecoverInfoForm, RecoverPhoneForm, ResetPasswordForm)
from models import db
from models.account import PhysicianAccount
from models.enums import AccountState, VerificationOutcome
from models.identity import mask_email, mask_phone
from services import DomainError
from services import accounts, contact
from web.auth import current_actor, physician_required
from web.common import check_captcha

from . import bp
from .common import me, place_errors

RECOVERY_TTL = 10 * 60


# ---- P4 activation ---------------------------------------------------------------------

@bp.route("/activate", methods=["GET", "POST"])
@physician_required
def activate():
    acct = me()
    if acct.state == AccountState.ACTIVATED:
        return redirect(url_for("portal.home"))
    outcome = acct.verification_outcome
    ctx = {"account": acct, "outcome": outcome, "error": None, "form": None,
           "institution": acct.institution, "non_electronic":
           outcome == VerificationOutcome.NON_ELECTRONIC and acct.state == AccountState.VERIFIED,
           "contact_ok": accounts.contact_verified(acct)}
    if acct.state != AccountState.VERIFIED:
        return render_template("portal/activate_not_found.html", **ctx)
    if not ctx["contact_ok"]:
        return render_template("portal/activate_step1.html", **ctx)
    if outcome == VerificationOutcome.SELF_ACTIVATE:
        form = QualificationActivationForm()
        action = accounts.activate_with_qualification
    else:
        form = ActivationCodeForm()
        action = accounts.activate_with_code
    ctx["form"] = form
    if form.validate_on_submit():
        try:
            action(current_actor(), acct, form.code.data)
        except DomainError as exc:
            ctx["error"] = place_errors(form, exc)
        else:
            flash("恭喜，您的账户已激活！现在可以使用全部功能。", "success")
            return redirect(url_for("portal.home"))
    return render_template("portal/activate_step2.html", **ctx)


@bp.route("/activate/recheck", methods=["POST"])
@physician_required
def recheck():
    """重新校验: run P2 again (the register may have been corrected meanwhile)."""
    accounts.verify(current_actor(), me())
    return redirect(url_for("portal.activate"))


# ---- P8 安全设置 / P3 contact verification ----------------------------------------------

@bp.route("/security/")
@physician_required
def security():
    return redirect(url_for("portal.security_phone"))


@bp.route("/security/phone", methods=["GET", "POST"])
@physician_required
def security_phone():
    acct = me()
    changing = request.args.get("change") == "1" or acct.phone_verified_at is None
    form = PhoneForm()
    error = None
    info = None
    if request.method == "GET" and acct.phone_verified_at is None:
        form.phone.data = acct.phone
    if form.validate_on_submit():
        try:
            if form.send.data:
                phone = contact.send_phone_code(current_actor(), acct, form.phone.data)
                info = f"校验码已发送至 {mask_phone(phone)}，{contact.CODE_MINUTES}分钟内有效。"
            else:
                contact.confirm_phone(current_actor(), acct, form.phone.data, form.code.data)
                flash("手机号码验证成功！", "success")
                if not acct.is_activated:
                    return redirect(url_for("portal.activate"))
                return redirect(url_for("portal.security_phone"))
        except DomainError as exc:
            error = place_errors(form, exc)
        changing = True
    return render_template("portal/security_phone.html", form=form, error=error, info=info,
                           changing=changing, masked=mask_phone(acct.phone), tab="phone")


@bp.route("/security/email", methods=["GET", "POST"])
@physician_required
def security_email():
    acct = me()
    changing = request.args.get("change") == "1" or acct.email_verified_at is None
    form = EmailForm()
    error = None
    info = None
    if request.method == "GET" and acct.email_verified_at is None:
        form.email.data = acct.email
    if form.validate_on_submit():
        try:
            if form.send.data:
                email = contact.send_email_code(current_actor(), acct, form.email.data)
                info = f"校验码已发送至 {mask_email(email)}，{contact.CODE_MINUTES}分钟内有效。"
            else:
                contact.confirm_email(current_actor(), acct, form.email.data, form.code.data)
                flash("电子邮箱验证成功！", "success")
                if not acct.is_activated:
                    return redirect(url_for("portal.activate"))
                return redirect(url_for("portal.security_email"))
        except DomainError as exc:
            error = place_errors(form, exc)
        changing = True
    return render_template("portal/security_email.html", form=form, error=error, info=info,
                           changing=changing, masked=mask_email(acct.email), tab="email")


@bp.route("/security/password", methods=["GET", "POST"])
@physician_required
def security_password():
    form = PasswordChangeForm()
    error = None
    if form.validate_on_submit():
        try:
            accounts.change_password(current_actor(), me(), form.old_password.data,
                                     form.password.data, form.confirm.data,
                                     keep_token=session.get("_user_id"))
        except DomainError as exc:
            error = place_errors(form, exc)
        else:
            flash("密码修改成功，您在其他设备上的登录已全部退出。", "success")
            return redirect(url_for("portal.security_password"))
    return render_template("portal/security_password.html", form=form, error=error,
                           tab="password")


# ---- P6 找回您的登录账户 -------------------------------------------------------------------

@bp.route("/recover")
def recover():
    return render_template("portal/recover.html")


def _grant(account: PhysicianAccount):
    session["recover_grant"] = {"id": account.id, "at": int(time.time())}


def _recover_code(form, channel, target_field, template):
    error = info = None
    if form.validate_on_submit():
        target = getattr(form, target_field).data
        try:
            if form.send.data:
                if not check_captcha(form.captcha.data):
                    raise DomainError("验证码错误，请重新输入。", field="captcha")
                accounts.send_recovery_code(current_actor(), channel, target)
                info = ("如果该手机号码（邮箱）已通过验证，校验码已发送，"
                        f"{contact.CODE_MINUTES}分钟内有效。")
            else:
                acct = accounts.recover_with_code(current_actor(), channel, target,
                                                  form.code.data)
                _grant(acct)
                return redirect(url_for("portal.recover_reset"))
        except DomainError as exc:
            error = place_errors(form, exc)
    return render_template(template, form=form, error=error, info=info)


@bp.route("/recover/phone", methods=["GET", "POST"])
def recover_phone():
    return _recover_code(RecoverPhoneForm(), "sms", "phone", "portal/recover_phone.html")


@bp.route("/recover/email", methods=["GET", "POST"])
def recover_email():
    return _recover_code(RecoverEmailForm(), "email", "email", "portal/recover_email.html")


@bp.route("/recover/info", methods=["GET", "POST"])
def recover_info():
    form = RecoverInfoForm()
    error = None
    if form.validate_on_submit():
        if not check_captcha(form.captcha.data):
            form.captcha.errors = ["验证码错误，请重新输入。"]
        else:
            try:
                acct = accounts.recover_with_personal_info(
                    current_actor(), name=form.name.data, id_number=form.id_number.data,
                    qualification_code=form.qualification_code.data, phone=form.phone.data)
            except DomainError as exc:
                error = place_errors(form, exc)
            else:
                _grant(acct)
                return redirect(url_for("portal.recover_reset"))
    return render_template("portal/recover_info.html", form=form, error=error)


@bp.route("/recover/reset", methods=["GET", "POST"])
def recover_reset():
    grant = session.get("recover_grant")
    acct = None
    if grant and time.time() - grant.get("at", 0) <= RECOVERY_TTL:
        acct = db.session.get(PhysicianAccount, grant["id"])
    if acct is None or acct.state == AccountState.REVOKED:
        session.pop("recover_grant", None)
        flash("找回账户的操作已过期，请重新验证。", "warning")
        return redirect(url_for("portal.recover"))
    form = ResetPasswordForm()
    error = None
    if form.validate_on_submit():
        try:
            accounts.reset_password(current_actor(), acct, form.password.data, form.confirm.data)
        except DomainError as exc:
            error = place_errors(form, exc)
        else:
            session.pop("recover_grant", None)
            flash(f"新密码已设置，请使用用户名 {acct.username} 登录。", "success")
            return redirect(url_for("portal.login"))
    return render_template("portal/recover_reset.html", form=form, error=error,
                           username=acct.username)
