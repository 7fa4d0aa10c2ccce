"""P12 业务申请 / 业务查询 and P14 证书补办: the physician's side of the business applications."""
import sqlalchemy as sa
from flask import abort, flash, g, make_response, redirect, render_template, request, url_for

from models import db
from models.application import Application
from models.enums import (AccountState, ApplicationStatus, ApplicationType, FilingStatus,
                          PhysicianLevel, VerificationOutcome)
from models.institution import Institution
from models.registry import Filing, LegacySite, Registration
from services import DomainError
from services import applications as svc
from web.auth import current_actor, physician_required

from . import bp

T = ApplicationType
# the deck's 业务说明 texts, copied as they are (the deck's 卫计委 wording kept)
GUIDE = [
    (T.REGISTRATION, "注册", "凡取得国内医师资格的，均可申请医师执业注册。执业医师的执业地点为执业医师执业的医疗、预防、保健机构所在的省级行政区划，执业助理医师的执业地点为执业助理医师执业的医疗、预防、保健机构所在的县级行政区划。执业医师可以在不同省份同时注册执业地点。一个执业地点下，有并且只有一个主要执业机构。"),
    (T.CHANGE, "变更", "可进行执业地点变更、执业范围变更、执业类别变更，并可变更主要执业机构。医师提交变更申请后，直接到拟执业机构进行确认，然后由拟执业机构所属卫生计生委审批。"),
    (T.ASSISTANT_UPGRADE, "助师升医师", "在医师类别相同并且主要执业机构不变的情况下，由助理注册升级为执业医师注册。助师升医师完成后，助理医师注册信息自动失效。"),
    (T.MULTI_FILING, "多执业机构备案", "医师注册了一个执业地点并有了一个主要执业机构后，如果要到其他机构执业，需到批准该机构执业的卫生计生委分别申请备案。医师提交多执业机构备案申请后，直接到拟执业机构进行备案确认，然后由拟执业机构所属卫生计生委审批。"),
    (T.MULTI_FILING_CANCEL, "取消多机构备案", "在主要执业机构之外的其他机构备案的注册信息，可申请取消。"),
    (T.CANCELLATION, "注销", "医师注册后有下列情形之一的，医师个人或所在机构，可申请办理注销注册："),
    (T.TO_MILITARY, "变更到军队", "地方注册的医师，要变更到军队，请在此操作。重要提示，变更到军队业务完成后，地方的注册信息全部失效。"),
    (T.MILITARY_IN, "军队变更入", "军队的医师要变更到本卫生计生委下的医疗机构进行执业，请在此处操作"),
    (T.LEGACY_SITE_CANCEL, "取消多地点", "医师可申请取消已新增的多地点。一次业务只允许取消一个多地点。"),
]
CANCEL_ITEMS = ["(1)、死亡或者被宣告失踪的；", "(2)、受刑事处罚的；", "(3)、受吊销《医师执业证书》行政处罚的；",
                "(4)、医师定期考核不合格，并经培训后再次考核仍不合格的；", "(5)、连续两个考核周期未参加医师定期考核的。",
                "(6)、中止医师执业活动满两年的；", "(7)、身体健康状况不适宜继续执业的；",
                "(8)、有出借、出租、抵押、转让、涂改《医师执业证书》行为的；",
                "(9)、在医师资格考试中参与有组织作弊的；", "(10)、本人主动申请的"]
ARTICLE_18 = ("依照《医师法》第十八条，医师参加规范化培训（规培）、进修、对口支援、会诊、突发事件医疗救援、"
              "慈善或者其他公益性医疗、义诊，承担国家任务或者参加政府组织的重要活动，"
              "以及在医疗联合体（医联体）内的医疗机构中执业的，可以不办理变更注册或备案手续。")
TYPE_BY_CODE = {t.value: t for t in svc.PHYSICIAN_TYPES}


def _can_apply(account, type_) -> bool:
    if account.state == AccountState.ACTIVATED:
        return True
    return (type_ in svc.PRE_ACTIVATION_TYPES
            and account.verification_outcome == VerificationOutcome.NON_ELECTRONIC)


@bp.route("/applications/")
@physician_required
def applications():
    acct = g.account
    return render_template("portal/applications/guide.html", guide=GUIDE,
                           cancel_items=CANCEL_ITEMS, article18=ARTICLE_18,
                           allowed={t for t in svc.PHYSICIAN_TYPES if _can_apply(acct, t)})


def _choices(acct, type_):
    person = acct.person
    regs = svc.valid_registrations(person.id) if person else []
    quals = list(person.qualifications) if person else []
    cats = []
    for q in quals:
        if q.category not in cats:
            cats.append(q.category)
    ctx = {"regs": regs, "quals": quals, "categories": cats,
           "scopes": {c: svc.scopes_of(c) for c in cats}}
    if type_ == T.ASSISTANT_UPGRADE:
        ctx["regs"] = [r for r in regs if r.level == PhysicianLevel.ASSISTANT]
        ctx["quals"] = [q for q in quals if q.level == PhysicianLevel.PHYSICIAN]
    if type_ == T.MULTI_FILING_CANCEL:
        ctx["filings"] = list(db.session.scalars(
            sa.select(Filing).where(Filing.registration_id.in_([r.id for r in regs] or [0]),
                                    Filing.status == FilingStatus.VALID)))
    if type_ == T.LEGACY_SITE_CANCEL:
        ctx["sites"] = list(db.session.scalars(
            sa.select(LegacySite).where(LegacySite.registration_id.in_([r.id for r in regs] or [0]),
                                        LegacySite.status == FilingStatus.VALID)))
    if type_ == T.CANCELLATION:
        ctx["cancel_reasons"] = svc.cancel_reasons()
    if type_ == T.CERTIFICATE_REISSUE:
        ctx["reissue_reasons"] = svc.REISSUE_REASONS
    q = (request.values.get("inst_q") or "").strip()
    ctx["inst_q"] = q
    ctx["institutions"] = svc.search_institutions(q) if q else []
    chosen = request.values.get("institution_id")
    if chosen and chosen.isdigit():
        inst = db.session.get(Institution, int(chosen))
        if inst is not None and inst not in ctx["institutions"]:
            ctx["institutions"].insert(0, inst)
    return ctx


@bp.route("/applications/new/<code>", methods=["GET", "POST"])
@physician_required
def application_new(code):
    type_ = TYPE_BY_CODE.get(code)
    if type_ is None:
        abort(404)
    acct = g.account
    if not _can_apply(acct, type_):
        flash("您的账户尚未激活，激活后才能提交业务申请。", "danger")
        return redirect(url_for("portal.applications"))
    error = None
    if request.method == "POST" and request.form.get("submit_app"):
        payload = {k: request.form.get(k, "") for k in (
            "institution_id", "qualification_id", "registration_id", "category", "reason_code",
            "filing_id", "legacy_site_id", "reissue_reason", "reason")}
        payload["scope_codes"] = request.form.getlist("scope_codes")
        try:
            app = svc.submit_application(current_actor(), acct, type_, payload)
        except DomainError as e:
            db.session.rollback()
            error = e
        else:
            flash(f"「{type_.label}」业务申请已提交（业务编号{app.id}），请到确认机构办理确认。", "success")
            return redirect(url_for("portal.application_detail", app_id=app.id))
    template = "portal/applications/form.html"
    return render_template(template, type_=type_, code=code, error=error, form=request.values,
                           **_choices(acct, type_)), (400 if error else 200)


@bp.route("/applications/query")
@physician_required
def application_query():
    acct = g.account
    cond = Application.account_id == acct.id
    if acct.person_id:
        cond = sa.or_(cond, Application.person_id == acct.person_id)
    rows = list(db.session.scalars(sa.select(Application).where(cond)
                                   .order_by(Application.id.desc()).limit(200)))
    return render_template("portal/applications/query.html", rows=rows)


def _own(app_id) -> Application:
    acct = g.account
    app = db.session.get(Application, app_id)
    if app is None or not (app.account_id == acct.id or
                           (acct.person_id and app.person_id == acct.person_id)):
        abort(404)
    return app


@bp.route("/applications/<int:app_id>")
@physician_required
def application_detail(app_id):
    app = _own(app_id)
    return render_template("portal/applications/detail.html", app=app,
                           lines=svc.content_lines(app), events=app.events)


@bp.route("/applications/<int:app_id>/withdraw", methods=["POST"])
@physician_required
def application_withdraw(app_id):
    app = _own(app_id)
    try:
        svc.withdraw_application(current_actor(), g.account, app.id)
    except DomainError as e:
        db.session.rollback()
        flash(e.message, "danger")
    else:
        flash("业务申请已撤回。", "success")
    return redirect(url_for("portal.application_detail", app_id=app_id))


@bp.route("/applications/<int:app_id>/print")
@physician_required
def application_print(app_id):
    from services.printing import application_pdf
    app = _own(app_id)
    resp = make_response(application_pdf(app))
    resp.headers["Content-Type"] = "application/pdf"
    resp.headers["Content-Disposition"] = f"inline; filename=application-{app.id}.pdf"
    return resp


@bp.route("/reissue/", methods=["GET", "POST"])
@physician_required
def reissue():
    return application_new(T.CERTIFICATE_REISSUE.value)
