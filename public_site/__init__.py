"""/public/ 医师执业注册信息查询 (X6, 医师法 第二十一条): anyone may look up registered and
cancelled physicians and institutions. Only the public set of fields is shown: 姓名, 性别,
医师级别, 医师类别, 执业范围, 执业地点, 主要执业机构, 注册状态, and the 执业证书编码 partly
masked — never 身份证号, phone, birth date, address or qualification code of a person.
A captcha guards the first search of a session (valid 10 minutes, so pages can be turned),
and every search counts against a per-IP limit kept in the database."""
import time

from flask import Blueprint, current_app, render_template, request, session, url_for

from services import public_register as pr
from web.auth import client_ip
from web.common import check_captcha

from .forms import CertificateSearchForm, InstitutionSearchForm, PhysicianSearchForm

bp = Blueprint("public", __name__, url_prefix="/public")

CAPTCHA_GRACE_SECONDS = 600
RATE_SCOPE = "public_search"


def _captcha_recent() -> bool:
    at = session.get("public_captcha_at")
    return bool(at) and time.time() - at < CAPTCHA_GRACE_SECONDS


def _captcha_passed(field) -> bool:
    if _captcha_recent():
        return True
    if not (field.data or "").strip() and current_app.config["CAPTCHA_ENABLED"]:
        field.errors.append("请输入验证码。")
        return False
    if not check_captcha(field.data):
        field.errors.append("验证码错误或已过期，请重新输入。")
        return False
    session["public_captcha_at"] = time.time()
    return True


def _rate_ok() -> bool:
    cfg = current_app.config
    return pr.take_rate_token(RATE_SCOPE, client_ip(), cfg.get("PUBLIC_SEARCH_LIMIT", 30),
                              cfg.get("PUBLIC_SEARCH_WINDOW_MINUTES", 10))


def _too_many():
    window = current_app.config.get("PUBLIC_SEARCH_WINDOW_MINUTES", 10)
    return render_template("public/rate_limited.html", window=window), 429


def _province_choices():
    return [("", "请选择省份")] + [(r.code, r.name) for r in pr.provinces()]


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _page_url(page: int) -> str:
    args = {k: v for k, v in request.args.items() if k not in ("page", "captcha")}
    return url_for(request.endpoint, page=page, **args)


def _render(template, form, **ctx):
    return render_template(template, form=form, need_captcha=not _captcha_recent(),
                           page_url=_page_url, **ctx)


@bp.route("/")
def index():
    form = PhysicianSearchForm(request.args)
    form.province.choices = _province_choices()
    result = None
    if "name" in request.args:
        if not _rate_ok():
            return _too_many()
        if form.validate() and _captcha_passed(form.captcha):
            if not pr.is_province(form.province.data):
                form.province.errors = ["请选择省份。"]
            else:
                result = pr.search_registrations(form.name.data, form.province.data,
                                                 (form.institution.data or "").strip() or None,
                                                 page=_page_arg())
    return _render("public/search.html", form, result=result, tab="physician",
                   mask=pr.mask_certificate_no)


@bp.route("/certificate")
def certificate():
    form = CertificateSearchForm(request.args)
    rows = None
    if "certificate_no" in request.args:
        if not _rate_ok():
            return _too_many()
        if form.validate() and _captcha_passed(form.captcha):
            rows = pr.registrations_by_certificate(form.certificate_no.data)
    return _render("public/certificate.html", form, rows=rows, tab="certificate",
                   mask=pr.mask_certificate_no)


@bp.route("/institutions")
def institutions():
    form = InstitutionSearchForm(request.args)
    form.province.choices = [("", "全部省份")] + _province_choices()[1:]
    result = None
    if "name" in request.args:
        if not _rate_ok():
            return _too_many()
        if form.validate() and _captcha_passed(form.captcha):
            province = form.province.data or None
            if province and not pr.is_province(province):
                form.province.errors = ["请选择省份。"]
            else:
                result = pr.search_institutions(form.name.data.strip(), province,
                                                page=_page_arg())
    return _render("public/institutions.html", form, result=result, tab="institution")
