"""The commission console /gov/ (审批端). A commission sees its region and below; system
administrators and auditors have their own menus (separation of duties)."""
import os
import re
import tempfile
import threading

import sqlalchemy as sa
from flask import (Response, abort, current_app, flash, jsonify, redirect, request, url_for)
from flask_admin import Admin
from flask_admin.contrib.sqla.filters import (DateBetweenFilter, FilterEqual, FilterLike)
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user
from sqlalchemy.orm import joinedload
from wtforms import (BooleanField, DateField, IntegerField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, Optional

from models import db
from models.account import ConsoleUser
from models.application import Application
from models.audit import AuditLog, ImportJob
from models.enums import (ApplicationStatus, AuthorityLevel, ConsoleRole, DirectBusinessKind,
                          FaqAudience, Gender, PhysicianCategory, PhysicianLevel, RegionLevel)
from models.identity import mask_phone
from models.institution import Authority, Institution
from models.messaging import FaqEntry, Question
from models.reference import Region, ReferenceItem, region_prefix
from models.registry import (Assessment, CreditRecord, DirectBusiness, Person, Qualification,
                             region_index_of,
                             Registration)
from services import DomainError, audit
from services import institution_accounts as accounts
from services import registry as reg_service
from services import registry_import
from services.support import answer_question
from services import audit_labels
from web.auth import current_actor

from .base import (BaseView, ConsoleAccessMixin, ConsoleIndexView, KeysetPagerMixin, ScopedModelView,
                   SecureAdminForm, expose, password_change_page)

REVIEWER = (ConsoleRole.REVIEWER,)
SYSADMIN = (ConsoleRole.SYSADMIN,)
AUDITOR = (ConsoleRole.AUDITOR,)
ALL = (ConsoleRole.REVIEWER, ConsoleRole.SYSADMIN, ConsoleRole.AUDITOR)
REQUIRED = "此项为必填项。"
ID_RE = re.compile(r"^\d{17}[\dXx]$")
IMPORT_STATUS = {"running": "正在导入", "done": "导入完成", "failed": "导入失败"}


def jurisdiction_prefix() -> str:
    """Region-code prefix of the current commission's jurisdiction ('' = national)."""
    authority = current_user.authority
    if authority is None:
        abort(403)
    if authority.level.value == "national":
        return ""
    return region_prefix(authority.region_code)


def in_jurisdiction(column):
    return reg_service.code_range(column, jurisdiction_prefix())


def authorities_in_jurisdiction():
    return sa.select(Authority.id).where(in_jurisdiction(Authority.region_code))


def is_upper_level() -> bool:
    """National and provincial commissions keep the FAQ lists."""
    return current_user.authority.level in (AuthorityLevel.NATIONAL, AuthorityLevel.PROVINCIAL)


def _date(v, c, m, name):
    value = getattr(m, name)
    return value.strftime("%Y-%m-%d") if value else ""


def _datetime(v, c, m, name):
    value = getattr(m, name)
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _with_person(model):
    """The row's person in the page's own statement: every registry row has one (person_id
    is NOT NULL), so an inner join reads the page's 20 persons by primary key without a
    second statement."""
    return joinedload(model.person, innerjoin=True)


def _label(v, c, m, name):
    obj = m
    for part in name.split("."):
        obj = getattr(obj, part, None)
    return getattr(obj, "label", obj) if obj is not None else ""


def _yes_no(v, c, m, name):
    return "是" if getattr(m, name) else "否"


class GovMixin:
    area = "gov"
    allowed_roles = REVIEWER


class GovIndexView(GovMixin, ConsoleIndexView):
    allowed_roles = ALL

    def dashboard(self):
        data = {"authority": current_user.authority}
        if current_user.role == ConsoleRole.REVIEWER:
            data["pending"] = db.session.scalar(
                sa.select(sa.func.count()).select_from(Application).where(
                    Application.authority_id == current_user.authority_id,
                    Application.status == ApplicationStatus.PENDING_APPROVAL))
        return data


class GovModelView(GovMixin, KeysetPagerMixin, ScopedModelView):
    """Shared bits: our list/details templates, extra links and detail actions."""

    list_template = "admin/gov/list.html"
    details_template = "admin/gov/details.html"
    list_note = ""

    def list_links(self):
        return []

    def detail_actions(self, model):
        return []

    def render_form(self, title, form, submit_label, *, note="", error=None, cancel=None):
        return self.render("admin/gov/form.html", title=title, form=form,
                           submit_label=submit_label, note=note, error=error,
                           cancel_url=cancel or url_for(".index_view"))

    def _post_action(self, fn, ok):
        """A POST button on a detail page: CSRF-checked, row loaded through the scope,
        the service's Chinese message flashed, back to the detail page."""
        if not SecureAdminForm().validate_on_submit():
            abort(400)
        obj = self._one_or_404()
        try:
            fn(obj)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(ok(obj), "success")
        return redirect(url_for(".details_view", id=obj.id))

    def _one_or_404(self):
        obj = self.get_one(request.args.get("id") or request.form.get("id"))
        if obj is None:
            abort(404)
        return obj


class ExactSearchMixin:
    """One search box for 姓名 prefix / 身份证号 / 证书编码 — exact or prefix lookups on
    indexes, never `ILIKE '%…%'`."""

    column_searchable_list = ["id"]  # only to switch the search box on
    # the model's relationship the search clause reads, joined only for a search (a plain
    # page needs no row of it beyond the 20 shown, which a selectin load fetches)
    search_join: str | None = None

    def init_search(self):
        self._search_fields = []
        return True

    def search_placeholder(self):
        return "姓名 / 身份证号 / 证书编码"

    def search_clause(self, term: str):
        raise NotImplementedError

    def _apply_search(self, query, count_query, joins, count_joins, search):
        clause = self.search_clause(search.strip())
        if self.search_join is not None:
            relationship = getattr(self.model, self.search_join)
            query = query.join(relationship)
            if count_query is not None:
                count_query = count_query.join(relationship)
        query = query.filter(clause)
        if count_query is not None:
            count_query = count_query.filter(clause)
        return query, count_query, joins, count_joins


def _person_search(term: str, code_column=None):
    term = term.strip()
    if ID_RE.match(term):
        ids = reg_service.person_ids_by_id_number(term)
        return Person.id.in_(ids or [-1])
    if code_column is not None and re.fullmatch(r"[0-9A-Za-z]{6,32}", term):
        return code_column == term
    if not term:
        return sa.true()
    return reg_service.name_prefix_filter(Person.name, term)


# ---- C1 institutions -------------------------------------------------------------------

class InstitutionForm(SecureAdminForm):
    name = StringField("机构标准名称", validators=[DataRequired(REQUIRED), Length(max=100)])
    license_no = StringField("执业许可证登记号", validators=[DataRequired(REQUIRED), Length(max=64)])
    region_code = SelectField("所在地区", validators=[DataRequired("请选择所在地区。")],
                              choices=[], validate_choice=False)
    address = StringField("地址", validators=[DataRequired(REQUIRED), Length(max=200)])
    responsible_person = StringField("负责人", validators=[DataRequired(REQUIRED),
                                                         Length(max=30)])
    reserved_phone = StringField("预留手机号", validators=[DataRequired(REQUIRED),
                                                        Length(max=11)],
                                 description="机构端用户名和密码将以短信发送到此手机，登录校验码也发送到此手机。")


def _county_choices():
    return [("", "请选择区县")] + [(r.code, r.full_name or r.name)
                                 for r in reg_service.county_regions(jurisdiction_prefix())]


class InstitutionView(GovModelView):
    """医疗机构 in this commission's jurisdiction (C1)."""

    column_list = ["name", "license_no", "region", "address", "responsible_person",
                   "reserved_phone", "licensing_authority", "active"]
    column_details_list = column_list + ["created_at"]
    column_export_list = column_list
    column_labels = {"name": "机构标准名称", "license_no": "执业许可证登记号", "region": "所在地区",
                     "address": "地址", "responsible_person": "负责人",
                     "reserved_phone": "预留手机号", "licensing_authority": "发证机关",
                     "active": "是否启用", "created_at": "创建时间"}
    column_formatters = {"reserved_phone": lambda v, c, m, n: mask_phone(m.reserved_phone),
                         "active": lambda v, c, m, n: "启用" if m.active else "停用",
                         "created_at": _datetime}
    column_formatters_export = column_formatters
    column_sortable_list = ["name", "license_no"]
    column_default_sort = ("id", True)
    column_select_related_list = (Institution.region, Institution.licensing_authority)
    can_create = True
    can_export = True
    column_searchable_list = []

    @property
    def simple_list_pager(self):
        # the national list (a million institutions) is paged without an exact count
        return getattr(current_user, "authority", None) is not None and not jurisdiction_prefix()

    def scope(self, query):
        return query.filter(reg_service.institution_in_jurisdiction(jurisdiction_prefix()))

    def get_export_name(self, export_type="csv"):
        return super().get_export_name(export_type)

    def detail_actions(self, model):
        acts = [("重置密码", url_for(".reset_password", id=model.id), "post", "btn-outline-warning",
                 "确定重置该机构的登录密码？新密码将以短信发送到预留手机。"),
                ("修改机构信息", url_for(".edit_institution", id=model.id), "get",
                 "btn-outline-primary", None)]
        if model.active:
            acts.append(("停用", url_for(".toggle", id=model.id), "post", "btn-outline-danger",
                         "停用后该机构不能登录机构端，确定停用？"))
        else:
            acts.append(("启用", url_for(".toggle", id=model.id), "post", "btn-outline-success",
                         None))
        return acts

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        form = InstitutionForm()
        form.region_code.choices = _county_choices()
        if form.validate_on_submit():
            try:
                inst, user = accounts.create_institution(current_actor(), **{
                    k: getattr(form, k).data for k in ("name", "license_no", "region_code",
                                                       "address", "responsible_person",
                                                       "reserved_phone")})
            except DomainError as exc:
                if exc.field in form:
                    getattr(form, exc.field).errors = [exc.message]
                else:
                    flash(exc.message, "error")
            else:
                flash(f"已创建医疗机构“{inst.name}”，机构端用户名 {user.username}，"
                      f"用户名和初始密码已通过短信发送到预留手机 {mask_phone(user.phone)}。", "success")
                return redirect(url_for(".details_view", id=inst.id))
        return self.render_form("新建医疗机构", form, "创建机构账户",
                                note="发证机关为本机关；系统生成机构端用户名和初始密码，并以短信发送到预留手机。")

    @expose("/edit-institution/", methods=("GET", "POST"))
    def edit_institution(self):
        inst = self._one_or_404()
        form = InstitutionForm(obj=inst)
        form.region_code.choices = _county_choices()
        if form.validate_on_submit():
            try:
                accounts.update_institution(current_actor(), inst, **{
                    k: getattr(form, k).data for k in ("name", "license_no", "region_code",
                                                       "address", "responsible_person",
                                                       "reserved_phone")})
            except DomainError as exc:
                if exc.field in form:
                    getattr(form, exc.field).errors = [exc.message]
                else:
                    flash(exc.message, "error")
            else:
                flash("机构信息已保存。", "success")
                return redirect(url_for(".details_view", id=inst.id))
        return self.render_form("修改机构信息", form, "保存",
                                cancel=url_for(".details_view", id=inst.id))

    @expose("/reset-password/", methods=("POST",))
    def reset_password(self):
        return self._post_action(
            lambda inst: accounts.reset_institution_password(current_actor(), inst),
            lambda inst: f"已重置“{inst.name}”的登录密码，新密码已通过短信发送到预留手机。")

    @expose("/toggle/", methods=("POST",))
    def toggle(self):
        return self._post_action(
            lambda inst: accounts.set_institution_active(current_actor(), inst, not inst.active),
            lambda inst: f"“{inst.name}”已{'启用' if inst.active else '停用'}。")


# ---- C3 registry -----------------------------------------------------------------------

def _reveal(model_person):
    """Full 身份证号 on a detail page, audited."""
    return model_person.id_number


class RegistryDetailMixin:
    """Detail pages show the full 身份证号 (audited); lists only the masked copy."""

    def person_of(self, model):
        return model.person

    @expose("/details/")
    def details_view(self):
        obj = self.get_one(request.args.get("id"))
        if obj is not None:
            person = self.person_of(obj)
            audit.record(current_actor(), "reveal_id_number", person,
                         detail=f"{self.name}详情页查看完整身份证号")
            db.session.commit()
        return super().details_view()


class QualificationCorrectionForm(SecureAdminForm):
    school = StringField("毕业院校", validators=[Optional(), Length(max=128)])
    major = StringField("所学专业", validators=[Optional(), Length(max=64)])
    education_code = SelectField("学历", choices=[], validate_choice=False)
    issuing_authority = StringField("发证机关", validators=[Optional(), Length(max=128)])
    reason = StringField("更正原因", validators=[DataRequired("请填写更正原因。"), Length(max=200)])


class RegistrationCorrectionForm(SecureAdminForm):
    approved_on = DateField("批准日期", validators=[DataRequired("请输入正确的批准日期。")],
                            format="%Y-%m-%d")
    school = StringField("毕业学校", validators=[Optional(), Length(max=128)])
    major = StringField("所学专业", validators=[Optional(), Length(max=64)])
    education_code = SelectField("学历", choices=[], validate_choice=False)
    reason = StringField("更正原因", validators=[DataRequired("请填写更正原因。"), Length(max=200)])


def _education_choices():
    return [("", "（无）")] + [(i.code, i.name) for i in db.session.scalars(
        sa.select(ReferenceItem).where(ReferenceItem.kind == "education")
        .order_by(ReferenceItem.sort, ReferenceItem.code))]


class RegionWalkMixin:
    """Lists of records that belong to a person's jurisdiction (医师资格, 定期考核, 信用记录).

    A province or a city reads them from the record kind's region table (models.registry:
    qualification_region …) in that table's own key order, newest first — the rows of one
    region, never the country's rows probed one by one. A search keeps its own index (姓名,
    证书编码) and only checks each hit against the same region rows; the country and a county
    (two small index reads) keep the direct rule."""

    def _region_walk(self) -> str | None:
        prefix = jurisdiction_prefix()
        if len(prefix) in (2, 4) and not (request.args.get("search") or "").strip():
            return prefix
        return None

    def region_scope(self, query):
        prefix = jurisdiction_prefix()
        if not prefix:  # national: everything
            return query
        if len(prefix) not in (2, 4):
            return query.filter(self.county_rule(prefix))
        region, column = region_index_of(self.model)
        if self._region_walk():
            return query.join(region, column == self.model.id).filter(
                region.region_code == prefix)
        return query.filter(sa.exists().where(region.region_code == prefix,
                                              column == self.model.id))

    def county_rule(self, prefix):
        return reg_service.person_id_in_jurisdiction(self.model.person_id, prefix)

    def _get_default_order(self):
        if self._region_walk():
            # the same order as the record's id, on the index the walk reads
            return iter([(region_index_of(self.model)[1], [], True)])
        return super()._get_default_order()

    def keyset_column(self):
        return region_index_of(self.model)[1] if self._region_walk() else self.model.id


class QualificationView(RegionWalkMixin, RegistryDetailMixin, ExactSearchMixin, GovModelView):
    """医师资格: persons with a registration in the jurisdiction or an ID area code in it;
    an exact 身份证号 lookup searches the whole country (audited)."""

    simple_list_pager = True
    column_list = ["person.name", "person.id_number_masked", "person.gender", "code", "level",
                   "category", "year", "kind", "issuing_authority"]
    column_details_list = ["person.name", "id_full", "person.gender", "person.birth_date", "code",
                           "level", "category", "year", "kind", "school", "major",
                           "education_code", "issuing_authority"]
    column_labels = {"person.name": "姓名", "person.id_number_masked": "身份证号", "id_full": "身份证号",
                     "person.gender": "性别", "person.birth_date": "出生日期",
                     "code": "资格证书编码", "level": "级别", "category": "类别", "year": "获得年度",
                     "kind": "取得方式", "school": "毕业院校", "major": "所学专业",
                     "education_code": "学历", "issuing_authority": "发证机关"}
    column_formatters = {"person.gender": _label, "level": _label, "category": _label,
                         "kind": _label, "person.birth_date": lambda v, c, m, n:
                         m.person.birth_date.strftime("%Y-%m-%d"),
                         "id_full": lambda v, c, m, n: _reveal(m.person)}
    column_sortable_list = []
    column_default_sort = ("id", True)
    list_note = "按完整身份证号查询可查全国范围的医师资格（查询将记入审计日志）。"

    def list_links(self):
        return [("数据导入", url_for("gov_import.index")),
                ("补录老人资格", url_for("gov_old_qualification.index"))]

    def _national_lookup(self):
        term = (request.args.get("search") or "").strip()
        return bool(ID_RE.match(term)) and request.endpoint == f"{self.endpoint}.index_view"

    def scope(self, query):
        if self._national_lookup():
            return query
        return self.region_scope(query)

    search_join = "person"

    def list_loads(self) -> list:
        return super().list_loads() + [_with_person(Qualification)]

    def get_one(self, id):
        try:
            pk = int(id)
        except (TypeError, ValueError):
            return None
        return self.session.query(Qualification).join(Qualification.person).filter(
            Qualification.id == pk,
            reg_service.person_in_jurisdiction(jurisdiction_prefix())).one_or_none()

    def search_clause(self, term):
        return _person_search(term, Qualification.code)

    @expose("/")
    def index_view(self):
        if self._national_lookup():
            audit.record(current_actor(), "id_number_lookup", None,
                         detail="按身份证号查询医师资格（全国）")
            db.session.commit()
        return super().index_view()

    def detail_actions(self, model):
        return [("更正", url_for(".correct", id=model.id), "get", "btn-outline-primary", None)]

    @expose("/correct/", methods=("GET", "POST"))
    def correct(self):
        qual = self._one_or_404()
        form = QualificationCorrectionForm(obj=qual)
        form.education_code.choices = _education_choices()
        if form.validate_on_submit():
            values = {k: getattr(form, k).data or "" for k in
                      ("school", "major", "issuing_authority", "education_code")}
            try:
                reg_service.correct_qualification(current_actor(), qual, values,
                                                  form.reason.data)
            except DomainError as exc:
                if exc.field in form:
                    getattr(form, exc.field).errors = [exc.message]
                else:
                    flash(exc.message, "error")
            else:
                flash("更正已保存，并记入审计日志。", "success")
                return redirect(url_for(".details_view", id=qual.id))
        return self.render_form(f"更正医师资格 {qual.code}", form, "保存更正",
                                note="仅可更正毕业院校、所学专业、学历和发证机关；更正前后的值记入审计日志。",
                                cancel=url_for(".details_view", id=qual.id))


class RegistrationView(RegistryDetailMixin, ExactSearchMixin, GovModelView):
    simple_list_pager = True
    column_list = ["person.name", "person.id_number_masked", "person.certificate_no", "level",
                   "category", "location", "institution", "authority", "approved_on", "status"]
    column_details_list = ["person.name", "id_full", "person.certificate_no", "level",
                           "category", "scopes", "location", "institution", "authority",
                           "approved_on", "status", "school", "major", "education_code"]
    column_labels = {"person.name": "姓名", "person.id_number_masked": "身份证号",
                     "id_full": "身份证号", "person.certificate_no": "执业证书编码",
                     "level": "医师级别", "category": "医师类别", "scopes": "执业范围",
                     "location": "执业地点", "institution": "主要执业机构", "authority": "审批机关",
                     "approved_on": "批准日期", "status": "注册状态", "school": "毕业学校",
                     "major": "所学专业", "education_code": "学历"}
    column_formatters = {"level": _label, "category": _label, "status": _label,
                         "approved_on": _date, "scopes": lambda v, c, m, n: m.scope_names,
                         "id_full": lambda v, c, m, n: _reveal(m.person)}
    column_sortable_list = []
    column_default_sort = ("id", True)

    def scope(self, query):
        return query.filter(reg_service.registration_in_jurisdiction(jurisdiction_prefix()))

    search_join = "person"

    def list_loads(self) -> list:
        # and institution / authority / location, as the column list names them
        return super().list_loads() + [_with_person(Registration)]

    def search_clause(self, term):
        return _person_search(term, Person.certificate_no)

    def detail_actions(self, model):
        return [("更正", url_for(".correct", id=model.id), "get", "btn-outline-primary", None)]

    @expose("/correct/", methods=("GET", "POST"))
    def correct(self):
        reg = self._one_or_404()
        form = RegistrationCorrectionForm(obj=reg)
        form.education_code.choices = _education_choices()
        if form.validate_on_submit():
            values = {"approved_on": form.approved_on.data,
                      **{k: getattr(form, k).data or "" for k in
                         ("school", "major", "education_code")}}
            if reg.school is None and values["school"] == "":
                values.pop("school")
            if reg.major is None and values["major"] == "":
                values.pop("major")
            try:
                reg_service.correct_registration(current_actor(), reg, values, form.reason.data)
            except DomainError as exc:
                if exc.field in form:
                    getattr(form, exc.field).errors = [exc.message]
                else:
                    flash(exc.message, "error")
            else:
                flash("更正已保存，并记入审计日志。", "success")
                return redirect(url_for(".details_view", id=reg.id))
        return self.render_form("更正执业注册信息", form, "保存更正",
                                note="仅可更正批准日期、毕业学校、所学专业和学历；更正前后的值记入审计日志。",
                                cancel=url_for(".details_view", id=reg.id))


class AssessmentView(RegionWalkMixin, RegistryDetailMixin, ExactSearchMixin, GovModelView):
    simple_list_pager = True
    column_list = ["person.name", "person.id_number_masked", "period", "result",
                   "assessing_body", "assessed_on"]
    column_details_list = ["person.name", "id_full", "period", "result", "assessing_body",
                           "assessed_on"]
    column_labels = {"person.name": "姓名", "person.id_number_masked": "身份证号", "id_full": "身份证号",
                     "period": "考核周期", "result": "考核结果", "assessing_body": "考核机构",
                     "assessed_on": "考核日期"}
    column_formatters = {"period": lambda v, c, m, n: m.period_label, "result": _label,
                         "assessed_on": _date, "id_full": lambda v, c, m, n: _reveal(m.person)}
    column_sortable_list = []
    column_default_sort = ("id", True)

    def scope(self, query):
        return self.region_scope(query)

    search_join = "person"

    def list_loads(self) -> list:
        return super().list_loads() + [_with_person(Assessment)]

    def search_clause(self, term):
        return _person_search(term, Person.certificate_no)


class CreditView(RegionWalkMixin, RegistryDetailMixin, ExactSearchMixin, GovModelView):
    simple_list_pager = True
    column_list = ["person.name", "person.id_number_masked", "kind", "decided_on", "authority",
                   "revokes_certificate"]
    column_details_list = ["person.name", "id_full", "kind", "description", "decided_on",
                           "authority", "revokes_certificate"]
    column_labels = {"person.name": "姓名", "person.id_number_masked": "身份证号", "id_full": "身份证号",
                     "kind": "记录类别", "description": "内容", "decided_on": "决定日期",
                     "authority": "记录机关", "revokes_certificate": "吊销执业证书"}
    column_formatters = {"kind": _label, "decided_on": _date, "revokes_certificate": _yes_no,
                         "id_full": lambda v, c, m, n: _reveal(m.person)}
    column_sortable_list = []
    column_default_sort = ("id", True)

    def scope(self, query):
        return self.region_scope(query)

    def county_rule(self, prefix):
        # the person's jurisdiction, or the commission that recorded it
        return sa.or_(CreditRecord.authority_id.in_(authorities_in_jurisdiction()),
                      super().county_rule(prefix))

    search_join = "person"

    def list_loads(self) -> list:
        return super().list_loads() + [_with_person(CreditRecord)]

    def search_clause(self, term):
        return _person_search(term, Person.certificate_no)


# ---- C3 import and 补录老人资格 -------------------------------------------------------------

class ImportView(GovMixin, ConsoleAccessMixin, BaseView):
    """数据导入: upload, progress, error report. Jobs are this authority's only."""

    def _job(self, job_id):
        job = db.session.scalar(sa.select(ImportJob).where(
            ImportJob.id == job_id, ImportJob.authority_id == current_user.authority_id))
        if job is None:
            abort(404)
        return job

    @expose("/")
    def index(self, error=None):
        jobs = db.session.scalars(sa.select(ImportJob).where(
            ImportJob.authority_id == current_user.authority_id)
            .order_by(ImportJob.id.desc()).limit(20)).all()
        return self.render("admin/gov/import.html", jobs=jobs, error=error,
                           columns=registry_import.COLUMNS, status_labels=IMPORT_STATUS)

    @expose("/upload/", methods=("POST",))
    def upload(self):
        if not SecureAdminForm().validate_on_submit():
            abort(400)
        f = request.files.get("file")
        if f is None or not f.filename:
            return self.index(error="请选择要导入的文件。")
        actor = current_actor()
        try:
            job = registry_import.start_job(actor, f.filename)
        except DomainError as exc:
            return self.index(error=exc.message)
        folder = os.path.join(current_app.instance_path, "imports")
        os.makedirs(folder, exist_ok=True)
        fd, path = tempfile.mkstemp(dir=folder, suffix=os.path.splitext(job.filename)[1])
        with os.fdopen(fd, "wb") as out:
            f.save(out)
        if current_app.testing or not current_app.config.get("GOV_IMPORT_ASYNC", True):
            self._run(current_app._get_current_object(), actor, job.id, path)
        else:
            threading.Thread(target=self._run, daemon=True, name=f"import-{job.id}",
                             args=(current_app._get_current_object(), actor, job.id,
                                   path)).start()
        return redirect(url_for(".job", job_id=job.id))

    @staticmethod
    def _run(app, actor, job_id, path):
        with app.app_context():
            try:
                registry_import.run_job(actor, job_id, path)
            except Exception:  # recorded as failed in the job; logged for operators
                app.logger.exception("import job %s failed", job_id)
            finally:
                try:
                    os.unlink(path)
                except OSError:
                    pass
            try:
                registry_import.write_back_wal()
            except Exception:  # housekeeping only: the next checkpoint does it otherwise
                app.logger.exception("WAL write-back after import job %s failed", job_id)

    @expose("/<int:job_id>/")
    def job(self, job_id):
        job = self._job(job_id)
        percent = int(100 * job.processed_rows / job.total_rows) if job.total_rows else (
            100 if job.status != "running" else 0)
        return self.render("admin/gov/import_job.html", job=job, percent=percent,
                           errors=(job.errors or [])[:200], status_labels=IMPORT_STATUS)

    @expose("/<int:job_id>/status")
    def status(self, job_id):
        job = self._job(job_id)
        return jsonify({"status": job.status, "status_label": IMPORT_STATUS.get(job.status),
                        "total_rows": job.total_rows, "processed_rows": job.processed_rows,
                        "imported_rows": job.imported_rows, "failed_rows": job.failed_rows})

    @expose("/<int:job_id>/report.csv")
    def report(self, job_id):
        job = self._job(job_id)
        return Response(registry_import.error_report_csv(job), mimetype="text/csv",
                        headers={"Content-Disposition":
                                 f"attachment; filename=import_{job.id}_errors.csv; "
                                 "filename*=UTF-8''%E9%94%99%E8%AF%AF%E6%8A%A5%E5%91%8A.csv"})

    @expose("/template.csv")
    def template_csv(self):
        return Response(registry_import.template_csv(), mimetype="text/csv",
                        headers={"Content-Disposition":
                                 "attachment; filename=qualification_template.csv"})


class OldQualificationForm(SecureAdminForm):
    name = StringField("姓名", validators=[DataRequired(REQUIRED), Length(max=30)])
    id_number = StringField("身份证号", validators=[DataRequired(REQUIRED), Length(max=18)])
    gender = SelectField("性别", choices=[(g.value, g.label) for g in Gender])
    level = SelectField("级别", choices=[(m.value, m.label) for m in PhysicianLevel])
    category = SelectField("类别", choices=[(m.value, m.label) for m in PhysicianCategory])
    year = IntegerField("获得年度", validators=[DataRequired("请输入1999年之前的获得年度。")])
    code = StringField("资格证书编码", validators=[DataRequired(REQUIRED), Length(max=32)])
    school = StringField("毕业院校", validators=[Optional(), Length(max=128)])
    major = StringField("所学专业", validators=[Optional(), Length(max=64)])
    education_code = SelectField("学历", choices=[], validate_choice=False)
    issuing_authority = StringField("发证机关", validators=[Optional(), Length(max=128)])


class OldQualificationView(GovMixin, ConsoleAccessMixin, BaseView):
    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = OldQualificationForm()
        form.education_code.choices = _education_choices()
        if form.validate_on_submit():
            try:
                q = reg_service.add_old_rules_qualification(
                    current_actor(), name=form.name.data, id_number=form.id_number.data,
                    gender=Gender(form.gender.data), level=PhysicianLevel(form.level.data),
                    category=PhysicianCategory(form.category.data), year=form.year.data,
                    code=form.code.data, school=form.school.data, major=form.major.data,
                    education_code=form.education_code.data or None,
                    issuing_authority=form.issuing_authority.data)
            except DomainError as exc:
                if exc.field in form:
                    getattr(form, exc.field).errors = [exc.message]
                else:
                    flash(exc.message, "error")
            else:
                flash(f"已补录老人老办法资格，资格证书编码 {q.code}。", "success")
                return redirect(url_for(".index"))
        return self.render("admin/gov/form.html", title="补录老人资格", form=form,
                           submit_label="保存", error=None, cancel_url=None,
                           note="1999年《医师法》正式实施前，经省级卫生行政部门认定的医师资格（老人老办法）。"
                                "获得年度须在1999年之前。")


# ---- C4 direct businesses --------------------------------------------------------------

class DirectBusinessForm(SecureAdminForm):
    kind = SelectField("业务类型", choices=[(k.value, k.label) for k in DirectBusinessKind])
    name = StringField("姓名", validators=[DataRequired(REQUIRED), Length(max=64)])
    nationality = StringField("国籍/地区", validators=[DataRequired(REQUIRED), Length(max=64)])
    document_type = SelectField("证件类型", choices=[(x, x) for x in (
        "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "港澳台居民居住证", "护照", "其他")])
    document_no = StringField("证件号码", validators=[DataRequired(REQUIRED), Length(max=32)])
    institution_id = SelectField("执业机构", choices=[], validate_choice=False)
    scope = StringField("执业范围", validators=[Optional(), Length(max=128)])
    valid_from = DateField("有效期起始日期", validators=[DataRequired("请输入有效期起始日期。")])
    valid_to = DateField("有效期截止日期", validators=[DataRequired("请输入有效期截止日期。")],
                         description="短期行医的有效期最长为1年。")


class DirectBusinessView(GovModelView):
    column_list = ["kind", "name", "nationality", "document_type", "id_number_masked",
                   "institution", "valid_from", "valid_to", "authority"]
    column_details_list = column_list + ["scope", "created_at"]
    column_labels = {"kind": "业务类型", "name": "姓名", "nationality": "国籍/地区",
                     "document_type": "证件类型", "id_number_masked": "证件号码",
                     "institution": "执业机构", "valid_from": "有效期起始", "valid_to": "有效期截止",
                     "authority": "办理机关", "scope": "执业范围", "created_at": "登记时间"}
    column_formatters = {"kind": _label, "valid_from": _date, "valid_to": _date,
                         "created_at": _datetime}
    column_default_sort = ("id", True)
    column_sortable_list = ["valid_to"]
    can_create = True
    list_note = "港澳台医师内地资格认定、港澳台医师内地短期行医、外国医师内地短期行医由本机关直接办理并登记。"

    def scope(self, query):
        return query.filter(DirectBusiness.authority_id.in_(authorities_in_jurisdiction()))

    def detail_actions(self, model):
        return [("修改", url_for(".edit_business", id=model.id), "get", "btn-outline-primary",
                 None)]

    def _form(self, obj=None):
        form = DirectBusinessForm(obj=obj)
        if obj is not None and request.method == "GET":
            form.kind.data = obj.kind.value
            form.document_no.data = ""
            form.institution_id.data = str(obj.institution_id or "")
        form.institution_id.choices = [("", "（无）")] + [
            (str(i.id), i.name) for i in db.session.scalars(
                sa.select(Institution).where(in_jurisdiction(Institution.region_code))
                .order_by(Institution.name).limit(500))]
        return form

    def _save(self, form, row, is_new):
        if not form.validate_on_submit():
            return False
        inst_id = int(form.institution_id.data) if (form.institution_id.data or "").isdigit() \
            else None
        if inst_id and not db.session.scalar(sa.select(Institution.id).where(
                Institution.id == inst_id, in_jurisdiction(Institution.region_code))):
            form.institution_id.errors = ["请选择本辖区的医疗机构。"]
            return False
        row.kind = DirectBusinessKind(form.kind.data)
        row.name = form.name.data.strip()
        row.nationality = form.nationality.data.strip()
        row.document_type = form.document_type.data
        if form.document_no.data.strip():
            row.id_number = form.document_no.data.strip()
        elif is_new:
            form.document_no.errors = [REQUIRED]
            return False
        row.institution_id = inst_id
        row.scope = (form.scope.data or "").strip()
        row.valid_from, row.valid_to = form.valid_from.data, form.valid_to.data
        try:
            reg_service.save_direct_business(current_actor(), row, is_new=is_new)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            if exc.field in form:
                getattr(form, exc.field).errors = [exc.message]
            else:
                flash(exc.message, "error")
            return False
        return True

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        form = self._form()
        form.document_no.validators = [DataRequired(REQUIRED), Length(max=32)]
        row = DirectBusiness()
        if self._save(form, row, True):
            flash("已登记。", "success")
            return redirect(url_for(".details_view", id=row.id))
        return self.render_form("登记直接办理业务", form, "保存")

    @expose("/edit-business/", methods=("GET", "POST"))
    def edit_business(self):
        row = self._one_or_404()
        form = self._form(row)
        form.document_no.validators = [Optional(), Length(max=32)]
        form.document_no.description = f"当前：{row.id_number_masked}；不修改请留空。"
        if request.method == "POST" and self._save(form, row, False):
            flash("已保存。", "success")
            return redirect(url_for(".details_view", id=row.id))
        db.session.rollback()
        return self.render_form("修改直接办理业务", form, "保存",
                                cancel=url_for(".details_view", id=row.id))


# ---- C5 questions and FAQ --------------------------------------------------------------

class AnswerForm(SecureAdminForm):
    reply = TextAreaField("回复内容", validators=[DataRequired("请输入回复内容。"), Length(max=2000)])


class ToFaqForm(SecureAdminForm):
    audience = SelectField("加入列表", choices=[(a.value, a.label) for a in FaqAudience])
    title = StringField("问题", validators=[DataRequired(REQUIRED), Length(max=128)])
    answer = TextAreaField("解答", validators=[DataRequired(REQUIRED), Length(max=4000)])


class QuestionView(GovModelView):
    column_list = ["title", "asker_name", "asker_kind", "authority", "created_at", "replied"]
    column_details_list = ["title", "body", "asker_name", "asker_kind", "authority",
                           "created_at", "reply", "replied_at"]
    column_labels = {"title": "问题标题", "asker_name": "提问人", "asker_kind": "提问人类型",
                     "authority": "答复机关", "created_at": "提问时间", "replied": "是否已回复",
                     "body": "问题描述", "reply": "回复内容", "replied_at": "回复时间"}
    column_formatters = {"asker_kind": lambda v, c, m, n: "医师" if m.asker_kind.value ==
                         "physician" else "医疗机构",
                         "created_at": _datetime, "replied_at": _datetime,
                         "replied": lambda v, c, m, n: "已回复" if m.reply else "未回复"}
    column_default_sort = ("id", True)
    column_sortable_list = ["created_at"]

    def scope(self, query):
        visible = Question.authority_id.in_(authorities_in_jurisdiction())
        if is_upper_level():
            visible = sa.or_(visible, Question.authority_id.is_(None))
        return query.filter(visible)

    def detail_actions(self, model):
        return [("回复", url_for(".answer", id=model.id), "get", "btn-outline-primary", None)]

    @expose("/answer/", methods=("GET", "POST"))
    def answer(self):
        q = self._one_or_404()
        form = AnswerForm(obj=q)
        faq_form = ToFaqForm(formdata=None, title=q.title, answer=q.reply or "")
        if form.validate_on_submit():
            try:
                answer_question(current_actor(), q, form.reply.data)
            except DomainError as exc:
                form.reply.errors = [exc.message]
            else:
                flash("回复已保存，提问人可在其问题列表中查看。", "success")
                return redirect(url_for(".answer", id=q.id))
        return self.render("admin/gov/question.html", q=q, form=form, faq_form=faq_form,
                           error=None, can_faq=is_upper_level())

    @expose("/to-faq/", methods=("POST",))
    def to_faq(self):
        q = self._one_or_404()
        if not is_upper_level():
            abort(403)
        form = ToFaqForm()
        if not form.validate_on_submit():
            flash("请填写问题和解答。", "error")
            return redirect(url_for(".answer", id=q.id))
        entry = FaqEntry(audience=FaqAudience(form.audience.data), title=form.title.data.strip(),
                         answer=form.answer.data.strip(), category="常见问题", sort=100)
        db.session.add(entry)
        db.session.flush()
        audit.record(current_actor(), "faq_created", entry,
                     after={"title": entry.title, "audience": entry.audience.label,
                            "from_question": q.id})
        db.session.commit()
        flash(f"已加入{entry.audience.label}列表。", "success")
        return redirect(url_for("gov_faq.details_view", id=entry.id))


class FaqForm(SecureAdminForm):
    audience = SelectField("列表", choices=[(a.value, a.label) for a in FaqAudience])
    category = StringField("分类", validators=[DataRequired(REQUIRED), Length(max=32)])
    title = StringField("问题", validators=[DataRequired(REQUIRED), Length(max=128)])
    answer = TextAreaField("解答", validators=[DataRequired(REQUIRED), Length(max=4000)])
    sort = IntegerField("排序", validators=[Optional()])
    published = BooleanField("发布")


class FaqView(GovModelView):
    """热点问题 (physicians) and 常见问题 (institutions): national/provincial reviewers edit."""

    column_list = ["audience", "category", "title", "sort", "published", "updated_at"]
    column_details_list = ["audience", "category", "title", "answer", "sort", "published",
                           "updated_at"]
    column_labels = {"audience": "列表", "category": "分类", "title": "问题", "answer": "解答",
                     "sort": "排序", "published": "是否发布", "updated_at": "更新时间"}
    column_formatters = {"audience": _label, "published": _yes_no, "updated_at": _datetime}
    column_default_sort = ("sort", False)
    column_sortable_list = ["sort"]
    column_filters = [FilterEqual(FaqEntry.audience, "列表",
                                  options=[(a.value, a.label) for a in FaqAudience])]

    @property
    def can_create(self):
        return is_upper_level()

    @property
    def list_note(self):
        return "" if is_upper_level() else "热点问题和常见问题由国家级和省级卫生健康行政部门维护，本机关只能查看。"

    def scope(self, query):
        return query  # one national list, shown on the physician and institution sites

    def detail_actions(self, model):
        if not is_upper_level():
            return []
        return [("修改", url_for(".edit_entry", id=model.id), "get", "btn-outline-primary", None),
                ("删除", url_for(".delete_entry", id=model.id), "post", "btn-outline-danger",
                 "确定删除该问题？")]

    def _editor(self, entry):
        if not is_upper_level():
            abort(403)
        form = FaqForm(obj=entry)
        if entry is not None and request.method == "GET":
            form.audience.data = entry.audience.value
        if form.validate_on_submit():
            is_new = entry is None
            before = None if is_new else {"title": entry.title, "answer": entry.answer,
                                          "published": entry.published}
            entry = entry or FaqEntry()
            entry.audience = FaqAudience(form.audience.data)
            entry.category = form.category.data.strip()
            entry.title = form.title.data.strip()
            entry.answer = form.answer.data.strip()
            entry.sort = form.sort.data or 0
            entry.published = bool(form.published.data)
            db.session.add(entry)
            db.session.flush()
            audit.record(current_actor(), "faq_created" if is_new else "faq_updated", entry,
                         before=before, after={"title": entry.title, "answer": entry.answer,
                                               "published": entry.published})
            db.session.commit()
            flash("已保存。", "success")
            return redirect(url_for(".details_view", id=entry.id))
        return self.render_form("编辑热点问题/常见问题", form, "保存")

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        return self._editor(None)

    @expose("/edit-entry/", methods=("GET", "POST"))
    def edit_entry(self):
        return self._editor(self._one_or_404())

    @expose("/delete-entry/", methods=("POST",))
    def delete_entry(self):
        if not is_upper_level():
            abort(403)
        if not SecureAdminForm().validate_on_submit():
            abort(400)
        entry = self._one_or_404()
        audit.record(current_actor(), "faq_deleted", entry,
                     before={"title": entry.title, "answer": entry.answer})
        db.session.delete(entry)
        db.session.commit()
        flash("已删除。", "success")
        return redirect(url_for(".index_view"))


# ---- C6 statistics ---------------------------------------------------------------------

class StatisticsView(GovMixin, ConsoleAccessMixin, BaseView):
    @expose("/")
    def index(self):
        from services.gov_statistics import jurisdiction_statistics
        authority = current_user.authority
        return self.render("admin/gov/statistics.html", authority=authority,
                           stats=jurisdiction_statistics(authority))


# ---- C7 audit log ----------------------------------------------------------------------

class AuditLogView(GovModelView):
    allowed_roles = AUDITOR
    can_view_details = True
    can_export = True
    export_types = ["csv"]
    simple_list_pager = True
    column_list = ["at", "actor_name", "ip", "action", "object_type", "object_id", "detail"]
    column_details_list = column_list + ["actor_kind", "actor_id", "institution_id",
                                         "authority_id", "before", "after"]
    column_export_list = column_list + ["before", "after"]
    column_labels = {"at": "时间", "actor_name": "操作人", "ip": "IP地址", "action": "操作",
                     "object_type": "对象类型", "object_id": "对象编号", "detail": "说明",
                     "actor_kind": "操作人类型", "actor_id": "操作人编号",
                     "institution_id": "机构编号", "authority_id": "机关编号",
                     "before": "修改前", "after": "修改后"}
    column_formatters = {"at": lambda v, c, m, n: m.at.strftime("%Y-%m-%d %H:%M:%S"),
                         "actor_kind": _label,
                         "action": lambda v, c, m, n: audit_labels.action_label(m.action),
                         "object_type": lambda v, c, m, n: audit_labels.object_label(m.object_type)}
    column_formatters_export = {"at": lambda v, c, m, n: m.at.strftime("%Y-%m-%d %H:%M:%S"),
                                "action": column_formatters["action"],
                                "object_type": column_formatters["object_type"]}
    column_filters = [FilterLike(AuditLog.actor_name, "操作人"),
                      FilterEqual(AuditLog.action, "操作",
                                  options=sorted(audit_labels.ACTION_LABELS.items(),
                                                 key=lambda kv: kv[1])),
                      FilterEqual(AuditLog.object_type, "对象类型",
                                  options=list(audit_labels.OBJECT_LABELS.items())),
                      FilterEqual(AuditLog.object_id, "对象编号"),
                      DateBetweenFilter(AuditLog.at, "时间")]
    column_default_sort = ("id", True)
    column_sortable_list = []
    list_note = "审计日志只读，不能修改或删除。"

    def scope(self, query):
        prefix = jurisdiction_prefix()
        if not prefix:
            return query
        return query.filter(sa.or_(
            AuditLog.authority_id.in_(authorities_in_jurisdiction()),
            AuditLog.institution_id.in_(sa.select(Institution.id).where(
                reg_service.code_range(Institution.region_code, prefix)))))

    def get_export_name(self, export_type="csv"):
        return super().get_export_name(export_type)


# ---- C8 system administration ----------------------------------------------------------

class AuthorityForm(SecureAdminForm):
    name = StringField("机关名称", validators=[DataRequired(REQUIRED), Length(max=128)])
    level = SelectField("级别", choices=[(m.value, m.label) for m in AuthorityLevel])
    region_code = SelectField("所辖地区", choices=[], validate_choice=False,
                              validators=[DataRequired("请选择所辖地区。")])
    is_tcm = BooleanField("中医药管理部门")
    parent_id = SelectField("上级机关", choices=[], validate_choice=False)
    active = BooleanField("启用", default=True)


LEVEL_FOR_REGION = {AuthorityLevel.PROVINCIAL: RegionLevel.PROVINCE,
                    AuthorityLevel.MUNICIPAL: RegionLevel.CITY,
                    AuthorityLevel.COUNTY: RegionLevel.COUNTY}


class AuthorityView(GovModelView):
    allowed_roles = SYSADMIN
    column_list = ["name", "level", "region", "is_tcm", "parent", "active"]
    column_details_list = column_list
    column_labels = {"name": "机关名称", "level": "级别", "region": "所辖地区",
                     "is_tcm": "中医药管理部门", "parent": "上级机关", "active": "是否启用"}
    column_formatters = {"level": _label, "is_tcm": _yes_no, "active": _yes_no}
    column_default_sort = ("region_code", False)
    column_sortable_list = ["name", "region_code"]
    can_create = True

    def scope(self, query):
        me = current_user.authority
        if me.level == AuthorityLevel.NATIONAL:
            return query
        return query.filter(Authority.level != AuthorityLevel.NATIONAL,
                            in_jurisdiction(Authority.region_code))

    def list_loads(self) -> list:
        # 所辖地区 and 上级机关 with the rows: sorted by name, a page's parents are seldom on
        # it, and each was loaded on its own
        return [joinedload(Authority.region), joinedload(Authority.parent)]

    def detail_actions(self, model):
        return [("修改", url_for(".edit_authority", id=model.id), "get", "btn-outline-primary",
                 None)]

    def _editor(self, row):
        form = AuthorityForm(obj=row)
        if row is not None and request.method == "GET":
            form.level.data = row.level.value
            form.parent_id.data = str(row.parent_id or "")
        prefix = jurisdiction_prefix()
        form.region_code.choices = [("", "请选择")] + [
            (r.code, r.full_name or r.name) for r in db.session.scalars(
                sa.select(Region).where(in_jurisdiction(Region.code))
                .where(Region.level != RegionLevel.COUNTY if not prefix else sa.true())
                .order_by(Region.code))]
        parents = list(self.scoped_query().order_by(Authority.region_code))
        if current_user.authority not in parents:
            parents.insert(0, current_user.authority)
        form.parent_id.choices = [("", "（无）")] + [(str(a.id), a.name) for a in parents
                                                   if row is None or a.id != row.id]
        if form.validate_on_submit():
            level = AuthorityLevel(form.level.data)
            # reference data (not a tenant row); the jurisdiction check follows
            region = db.session.scalar(sa.select(Region).where(Region.code == form.region_code.data))
            error = None
            if level == AuthorityLevel.NATIONAL:
                error = ("level", "不能在此设置国家级机关。")
            elif region is None or not reg_service.code_in(prefix, region.code):
                error = ("region_code", "所辖地区不在本机关的管辖范围内。")
            elif region.level != LEVEL_FOR_REGION[level]:
                error = ("region_code", "所辖地区的级别与机关级别不一致。")
            parent = None
            if form.parent_id.data:
                parent = self.scoped_query().filter(
                    Authority.id == int(form.parent_id.data)).one_or_none() \
                    if form.parent_id.data.isdigit() else None
                if parent is None and form.parent_id.data == str(current_user.authority_id):
                    parent = current_user.authority
                if parent is None:
                    error = error or ("parent_id", "请选择本辖区内的上级机关。")
            name = form.name.data.strip()
            dup = sa.select(Authority.id).where(Authority.name == name)
            if row is not None:
                dup = dup.where(Authority.id != row.id)
            if db.session.scalar(dup):
                error = error or ("name", "机关名称已存在。")
            if error:
                getattr(form, error[0]).errors = [error[1]]
            else:
                is_new = row is None
                before = None if is_new else {"name": row.name, "level": row.level.value,
                                              "region_code": row.region_code,
                                              "is_tcm": row.is_tcm, "parent_id": row.parent_id,
                                              "active": row.active}
                row = row or Authority()
                row.name, row.level, row.region_code = name, level, region.code
                row.is_tcm, row.active = bool(form.is_tcm.data), bool(form.active.data)
                row.parent_id = parent.id if parent else None
                db.session.add(row)
                db.session.flush()
                audit.record(current_actor(), "authority_created" if is_new
                             else "authority_updated", row, authority_id=row.id, before=before,
                             after={"name": row.name, "level": row.level.value,
                                    "region_code": row.region_code, "is_tcm": row.is_tcm,
                                    "parent_id": row.parent_id, "active": row.active})
                db.session.commit()
                flash("已保存。", "success")
                return redirect(url_for(".details_view", id=row.id))
        return self.render_form("审批机关", form, "保存")

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        return self._editor(None)

    @expose("/edit-authority/", methods=("GET", "POST"))
    def edit_authority(self):
        return self._editor(self._one_or_404())


class AccountForm(SecureAdminForm):
    display_name = StringField("姓名", validators=[DataRequired(REQUIRED), Length(max=64)])
    role = SelectField("账户角色", choices=[(r.value, r.label) for r in accounts.COMMISSION_ROLES])
    authority_id = SelectField("所属审批机关", choices=[], validate_choice=False)
    phone = StringField("手机号码", validators=[DataRequired(REQUIRED), Length(max=11)],
                        description="用户名和初始密码以短信发送到此手机，登录校验码也发送到此手机。")


class AccountView(GovModelView):
    allowed_roles = SYSADMIN
    column_list = ["username", "display_name", "role", "authority", "phone", "active",
                   "created_at"]
    column_details_list = column_list
    column_labels = {"username": "用户名", "display_name": "姓名", "role": "账户角色",
                     "authority": "所属审批机关", "phone": "手机号码", "active": "是否启用",
                     "created_at": "创建时间"}
    column_formatters = {"role": _label, "phone": lambda v, c, m, n: mask_phone(m.phone),
                         "active": lambda v, c, m, n: "启用" if m.active else "停用",
                         "created_at": _datetime}
    column_default_sort = ("id", True)
    column_sortable_list = ["username"]
    can_create = True

    def _authorities(self):
        return AuthorityView.scope(self, self.session.query(Authority))

    def scope(self, query):
        return query.filter(ConsoleUser.role.in_(accounts.COMMISSION_ROLES),
                            ConsoleUser.authority_id.in_(
                                self._authorities().with_entities(Authority.id)))

    def detail_actions(self, model):
        acts = [("重置密码", url_for(".reset_password", id=model.id), "post",
                 "btn-outline-warning", "确定重置该账户的密码？新密码将以短信发送。")]
        if model.id != current_user.id:
            acts.append(("停用" if model.active else "启用", url_for(".toggle", id=model.id),
                         "post", "btn-outline-danger" if model.active else "btn-outline-success",
                         "停用后该账户不能登录，确定停用？" if model.active else None))
        return acts

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        form = AccountForm()
        form.authority_id.choices = [(str(a.id), a.name) for a in
                                     self._authorities().filter(Authority.active.is_(True))
                                     .order_by(Authority.region_code)]
        if form.validate_on_submit():
            try:
                user = accounts.create_commission_account(
                    current_actor(), display_name=form.display_name.data,
                    role=ConsoleRole(form.role.data),
                    authority_id=int(form.authority_id.data)
                    if (form.authority_id.data or "").isdigit() else None,
                    phone=form.phone.data)
            except DomainError as exc:
                if exc.field in form:
                    getattr(form, exc.field).errors = [exc.message]
                else:
                    flash(exc.message, "error")
            else:
                flash(f"已创建账户 {user.username}，用户名和初始密码已通过短信发送。", "success")
                return redirect(url_for(".details_view", id=user.id))
        return self.render_form("新建审批端账户", form, "创建账户",
                                note="系统管理员、审批人员和审计人员的权限相互分离。")

    @expose("/reset-password/", methods=("POST",))
    def reset_password(self):
        return self._post_action(
            lambda u: accounts.reset_commission_password(current_actor(), u),
            lambda u: f"已重置 {u.username} 的密码，新密码已通过短信发送。")

    @expose("/toggle/", methods=("POST",))
    def toggle(self):
        return self._post_action(
            lambda u: accounts.set_commission_account_active(current_actor(), u, not u.active),
            lambda u: f"账户 {u.username} 已{'启用' if u.active else '停用'}。")


class GovSecurityView(GovMixin, ConsoleAccessMixin, BaseView):
    """安全设置: every commission account changes its own password here (also the forced
    first change of a generated password)."""

    allowed_roles = ALL

    @expose("/", methods=["GET", "POST"])
    def index(self):
        return password_change_page(
            lambda **kw: self.render("admin/console_security.html", **kw))


def build_gov_admin(app) -> Admin:
    from .org import _nonce
    admin = Admin(app, name="医师电子化注册信息系统（审批端）", url="/gov", endpoint="gov",
                  index_view=GovIndexView(name="首页", url="/gov", endpoint="gov"),
                  theme=Bootstrap4Theme(swatch="cerulean", fluid=True,
                                        base_template="admin/console_base.html"),
                  translations_path=app.config["ADMIN_TRANSLATIONS"],
                  csp_nonce_generator=_nonce)
    s = db.session
    # 业务审批 (applications issue) comes first in the menu
    from . import gov_approvals
    gov_approvals.register(admin)
    reg = "注册库"
    admin.add_view(QualificationView(Qualification, s, name="医师资格", category=reg,
                                     endpoint="gov_qualifications", url="/gov/qualifications"))
    admin.add_view(RegistrationView(Registration, s, name="执业注册", category=reg,
                                    endpoint="gov_registrations", url="/gov/registrations"))
    admin.add_view(AssessmentView(Assessment, s, name="定期考核", category=reg,
                                  endpoint="gov_assessments", url="/gov/assessments"))
    admin.add_view(CreditView(CreditRecord, s, name="信用记录", category=reg,
                              endpoint="gov_credit", url="/gov/credit"))
    admin.add_view(ImportView(name="数据导入", category=reg, endpoint="gov_import",
                              url="/gov/import"))
    admin.add_view(OldQualificationView(name="补录老人资格", category=reg,
                                        endpoint="gov_old_qualification",
                                        url="/gov/old-qualification"))
    admin.add_view(DirectBusinessView(DirectBusiness, s, name="港澳台及外国医师",
                                      category="直接办理业务", endpoint="gov_direct",
                                      url="/gov/direct"))
    admin.add_view(InstitutionView(Institution, s, name="医疗机构", category="机构账户",
                                   endpoint="gov_institutions", url="/gov/institutions"))
    admin.add_view(QuestionView(Question, s, name="问题答复", category="问答",
                                endpoint="gov_questions", url="/gov/questions"))
    admin.add_view(FaqView(FaqEntry, s, name="热点问题与常见问题", category="问答",
                           endpoint="gov_faq", url="/gov/faq"))
    admin.add_view(StatisticsView(name="统计信息", category="统计信息", endpoint="gov_statistics",
                                  url="/gov/statistics"))
    admin.add_view(AuditLogView(AuditLog, s, name="审计日志", category="审计日志",
                                endpoint="gov_audit", url="/gov/audit"))
    admin.add_view(AuthorityView(Authority, s, name="审批机关", category="系统管理",
                                 endpoint="gov_authorities", url="/gov/authorities"))
    admin.add_view(AccountView(ConsoleUser, s, name="后台账户", category="系统管理",
                               endpoint="gov_accounts", url="/gov/accounts"))
    admin.add_view(GovSecurityView(name="安全设置", endpoint="gov_security", url="/gov/security"))
    return admin


__all__ = ["build_gov_admin", "jurisdiction_prefix", "in_jurisdiction"]
