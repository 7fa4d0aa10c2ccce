"""The institution console /org/ (医疗机构端). Every view sees only this institution's rows.

Menu as in the deck: 本院执业医师信息 · 业务办理 · 医师验证 · 综合信息 · 系统功能 · 统计信息 ·
医师在外省注册情况 · 客服中心. Views parse, authorise and render; services/ change state."""
import datetime as dt
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from flask import (Response, abort, flash, g, redirect, request, send_file, session, url_for)
from flask_admin import Admin
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from models import db
from models.account import ActivationCode, ChangeRequest, PhysicianAccount, Photo
from models.enums import (AccountState, ConsoleRole, FaqAudience, FilingStatus,
                          PhysicianCategory, RegistrationStatus, ReviewStatus, UserKind,
                          VerificationOutcome)
from models.identity import id_blind_index, mask_phone
from models.institution import Department, Institution
from models.loading import collection_load, page_rows_select, written_in
from models.messaging import FaqEntry, Question
from models.reference import ReferenceItem, TreatmentSubject
from models.registry import (CreditRecord, Filing, LegacySite, MultiProvincePerson, Person,
                             Qualification, Registration)
from services import DomainError, audit
from services.batching import id_in
from web.auth import current_actor

from .base import (BaseView, ConsoleAccessMixin, ConsoleIndexView, ScopedModelView, expose,
                   password_change_page, row_link, tenant_institution_id)

ROLES = (ConsoleRole.INSTITUTION_ADMIN,)
PAGE_SIZE = 50


class OrgMixin:
    area = "org"
    allowed_roles = ROLES


def _inst() -> Institution:
    inst = db.session.get(Institution, tenant_institution_id())
    if inst is None:
        abort(403)
    return inst


def _int(value):
    try:
        v = int(value)
    except (TypeError, ValueError):
        return None
    return v if 0 < v < 2 ** 62 else None


def _fmt(value, with_time=True):
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S" if with_time else "%Y-%m-%d")
    return value.strftime("%Y-%m-%d")


def _mask_code(code: str | None) -> str:
    if not code:
        return ""
    return code[:2] + "..." + code[-1:]


def _ref_labels(kind: str) -> dict:
    return {r.code: (r.label or r.name) for r in db.session.scalars(
        sa.select(ReferenceItem).where(ReferenceItem.kind == kind))}


class OrgIndexView(OrgMixin, ConsoleIndexView):
    template = "admin/org/index.html"

    def dashboard(self):
        from services.institution import profile_counts
        inst = _inst()
        return {"institution": inst, "summary": profile_counts(inst.id)}



class OrgPage(OrgMixin, ConsoleAccessMixin, BaseView):
    """A custom page of this console (not a model list)."""

    def render_page(self, template, **kw):
        return self.render(f"admin/org/{template}", institution=_inst(), **kw)

    def fail(self, exc: DomainError):
        flash(exc.message, "error")


# ====================================================================== model lists (I7)

def _age(view, context, model, name):
    return model.person.age()


def _account_state(view, context, model, name):
    acct = model.person.live_account
    return acct.state.label if acct else "尚未注册账户"


class _NameFilter(BaseSQLAFilter):
    def apply(self, query, value, alias=None):
        # a probe per row of the institution, so the count query needs no join to person
        prefix = value.strip().replace("%", "").replace("_", "") + "%"
        named = sa.orm.aliased(Person)
        return query.filter(sa.exists().where(named.id == Registration.person_id,
                                              named.name.like(prefix)))

    def operation(self):
        return "开头是"


class _DeptFilter(BaseSQLAFilter):
    def apply(self, query, value, alias=None):
        dept = _int(value)
        return query.filter(Registration.department_id == (dept or -1))

    def operation(self):
        return "是"


class _ModifiedFilter(BaseSQLAFilter):
    def apply(self, query, value, alias=None):
        if value == "1":
            return query.filter(Registration.info_modified_on.is_not(None))
        return query.filter(Registration.info_modified_on.is_(None))

    def operation(self):
        return "是"


def _dept_options():
    from flask import has_request_context
    if not has_request_context() or not getattr(current_user, "institution_id", None):
        return [("", "请选择科室...")]  # placeholder at start-up; real options per request
    return [(str(d.id), d.name) for d in db.session.scalars(
        sa.select(Department).where(Department.institution_id == tenant_institution_id())
        .order_by(Department.name))]


class OrgListView(OrgMixin, ScopedModelView):
    """Scoped read-only list with a masked, allow-listed xlsx/csv export."""

    list_template = "admin/org/list.html"
    details_template = "admin/org/details.html"
    can_export = True
    export_name = "导出"

    @expose("/export/<export_type>/")
    def export(self, export_type):
        resp = super().export(export_type)
        if resp.status_code == 200 and "Content-Disposition" in resp.headers:
            stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
            cn = f"{self.name}_{stamp}.{export_type}"
            ascii_name = f"{self.endpoint}_{stamp}.{export_type}"
            resp.headers["Content-Disposition"] = (
                f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(cn)}")
            audit.record(current_actor(), "export", None, detail=f"{self.name} {export_type}")
            db.session.commit()
        return resp


_REG_LABELS = {"person.name": "姓名", "person.gender": "性别", "age": "年龄",
               "category": "医师类别", "level": "医师级别", "scopes": "执业范围",
               "person.certificate_no": "执业证书编码", "department": "所在科室",
               "account_state": "医师账户状态", "info_modified": "是否修改过信息",
               "info_modified_on": "审核日期", "location": "执业地点", "authority": "审批机关",
               "approved_on": "批准日期", "status": "注册状态",
               "person.id_number_masked": "身份证号", "qualification": "资格证书编码",
               "institution": "主要执业机构", "education": "学历", "school": "毕业学校",
               "title": "任职资格", "major": "所学专业", "filed_at": "备案机构",
               "status_changed_on": "状态变更日期", "detail": "详细信息"}
def _detail_link(view, context, model, name):
    from markupsafe import Markup
    return row_link(("org_detail", view.endpoint), lambda mark: Markup(
        '<a href="{}">查看详细信息</a>').format(url_for(".details_view", id=mark)), model.id)


_REG_FORMATTERS = {
    "detail": _detail_link,
    "age": _age, "account_state": _account_state,
    "category": lambda v, c, m, n: m.category.label,
    "level": lambda v, c, m, n: m.level.label,
    "status": lambda v, c, m, n: m.status.label,
    "person.gender": lambda v, c, m, n: m.person.gender.label,
    "scopes": lambda v, c, m, n: m.scope_names,
    "department": lambda v, c, m, n: m.department.name if m.department else "",
    "info_modified": lambda v, c, m, n: "是" if m.info_modified_on else "否",
    "info_modified_on": lambda v, c, m, n: _fmt(m.info_modified_on),
    "approved_on": lambda v, c, m, n: _fmt(m.approved_on),
    "status_changed_on": lambda v, c, m, n: _fmt(m.status_changed_on),
    "location": lambda v, c, m, n: str(m.location) if m.location else m.location_code,
    "authority": lambda v, c, m, n: m.authority.name if m.authority else "",
    "institution": lambda v, c, m, n: m.institution.name if m.institution else "",
    "qualification": lambda v, c, m, n: m.qualification.code if m.qualification else "",
    "education": lambda v, c, m, n: v.ref("education", m.education_code
                                          or (m.qualification.education_code
                                              if m.qualification else None)),
    "school": lambda v, c, m, n: m.school or (m.qualification.school if m.qualification else ""),
    "title": lambda v, c, m, n: v.ref("title", m.title_code),
    "major": lambda v, c, m, n: m.major or (m.qualification.major if m.qualification else ""),
}
_REG_EXPORT = ["person.name", "person.gender", "person.id_number_masked", "age", "category",
               "level", "scopes", "person.certificate_no", "department", "account_state",
               "info_modified", "info_modified_on"]


class RegistrationListView(OrgListView):
    column_labels = _REG_LABELS
    column_formatters = _REG_FORMATTERS
    column_formatters_detail = _REG_FORMATTERS
    column_formatters_export = _REG_FORMATTERS
    column_export_list = _REG_EXPORT
    column_details_list = ["person.name", "person.gender", "person.id_number_masked", "age",
                           "category", "level", "scopes", "location", "institution",
                           "person.certificate_no", "qualification", "authority",
                           "approved_on", "status", "status_changed_on", "department",
                           "education", "school", "title", "major", "account_state",
                           "info_modified", "info_modified_on"]
    # 姓名 sorts on the registration's copy of it (an index range of the institution), the
    # id breaking ties so that pages do not overlap
    column_sortable_list = [("person.name", ("person_name", "id")), "approved_on"]
    column_default_sort = ("id", False)
    column_auto_select_related = False  # relations are loaded as list_loads says

    def ref(self, kind, code):
        if not code:
            return ""
        cache = getattr(self, "_ref_cache", None)
        if cache is None:
            cache = self._ref_cache = {}
        if kind not in cache:
            cache[kind] = _ref_labels(kind)
        return cache[kind].get(code, code)

    # relationships the list and export columns show, loaded with the page's rows
    # (page_rows_with_loads: the page's ids first, so an OFFSET page never joins the rows
    # it skips; the 医师姓名 filter probes person per row instead of a join). 执业范围 needs
    # none: Registration.scope_names reads the row's scope_codes.
    _LOAD_BY_COLUMN = {"department": "department",
                       "qualification": "qualification", "education": "qualification",
                       "school": "qualification", "major": "qualification",
                       "authority": "authority", "location": "location",
                       "institution": "institution"}

    def _shown_columns(self) -> set:
        return set(self.column_list or ()) | set(self.column_export_list or ())

    def list_loads(self) -> list:
        shown = self._shown_columns()
        names = {"person"} | {self._LOAD_BY_COLUMN[c] for c in shown
                              if c in self._LOAD_BY_COLUMN}
        loads = [joinedload(getattr(Registration, n)) for n in sorted(names)]
        if "account_state" in shown:
            loads.append(joinedload(Registration.person).joinedload(Person.live_account)
                         .load_only(PhysicianAccount.state))
        return loads

    def get_list(self, *args, **kwargs):
        self._ref_cache = None
        return super().get_list(*args, **kwargs)

    def get_one(self, id):
        self._ref_cache = None
        return super().get_one(id)


class MainPhysicianView(RegistrationListView):
    """主执业机构在本院医师: valid registrations whose 主要执业机构 is this institution."""

    column_list = ["person.name", "person.gender", "age", "category", "level", "scopes",
                   "person.certificate_no", "department", "account_state", "detail",
                   "info_modified", "info_modified_on"]
    column_filters = [
        _NameFilter(Registration.person_id, "医师姓名"),
        _DeptFilter(Registration.department_id, "所在科室", options=_dept_options),
        _ModifiedFilter(Registration.info_modified_on, "信息修改",
                        options=(("1", "是"), ("0", "否"))),
    ]

    def scope(self, query):
        return query.filter(Registration.institution_id == tenant_institution_id(),
                            Registration.status == RegistrationStatus.VALID)

    def _get_filter_groups(self):
        """The 所在科室 options are this institution's departments, computed per request
        (Flask-Admin caches filter options at start-up, which would mix tenants)."""
        groups = super()._get_filter_groups()
        if not groups:
            return groups
        out = type(groups)()
        for key, items in groups.items():
            new_items = []
            for item in items:
                flt = self._filters[item["index"]]
                if isinstance(flt, _DeptFilter):
                    item = dict(item, options=_dept_options())
                new_items.append(item)
            out[key] = new_items
        return out


class FiledOutView(RegistrationListView):
    """本院多执业机构备案医师: 主要执业机构 here, with valid filings at other institutions."""

    column_list = ["person.name", "person.gender", "age", "category", "level", "scopes",
                   "person.certificate_no", "filed_at", "detail"]
    column_export_list = ["person.name", "person.gender", "person.id_number_masked", "age",
                          "category", "level", "scopes", "person.certificate_no", "filed_at"]
    column_filters = [_NameFilter(Registration.person_id, "医师姓名")]

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.column_formatters = dict(_REG_FORMATTERS, filed_at=self._filed_at)
        self.column_formatters_export = self.column_formatters

    @staticmethod
    def _filed_at(v, c, m, n):
        inst_id = tenant_institution_id()
        return "，".join(f.institution.name for f in m.filings
                        if f.status == FilingStatus.VALID and f.institution_id != inst_id)

    def scope(self, query):
        # from the filings of this institution's registrations (one index range), not a
        # filing probe per registration of the institution; the institution written in
        # (see written_in), or PostgreSQL's generic plan probes them all the same
        inst_id = written_in(tenant_institution_id())
        filed_elsewhere = sa.select(Filing.registration_id).where(
            Filing.registration_institution_id == inst_id,
            Filing.status == FilingStatus.VALID, Filing.institution_id != inst_id)
        return query.filter(Registration.institution_id == inst_id,
                            Registration.status == RegistrationStatus.VALID,
                            Registration.id.in_(filed_elsewhere))

    def list_loads(self) -> list:
        return super().list_loads() + [
            collection_load(Registration.filings).joinedload(Filing.institution)]


class FiledPhysiciansView(RegistrationListView):
    """本院备案医师: registrations here with status 注册备案."""

    column_list = ["person.name", "person.gender", "age", "category", "level", "scopes",
                   "person.certificate_no", "status_changed_on"]
    column_export_list = ["person.name", "person.gender", "person.id_number_masked", "age",
                          "category", "level", "scopes", "person.certificate_no",
                          "status_changed_on"]
    column_filters = [_NameFilter(Registration.person_id, "医师姓名")]

    def scope(self, query):
        return query.filter(Registration.institution_id == tenant_institution_id(),
                            Registration.status == RegistrationStatus.FILED)


def _via_reg(attr):
    def f(v, c, m, n):
        reg = m.registration
        if attr == "name":
            return reg.person.name
        if attr == "gender":
            return reg.person.gender.label
        if attr == "age":
            return reg.person.age()
        if attr == "id":
            return reg.person.id_number_masked
        if attr == "category":
            return reg.category.label
        if attr == "level":
            return reg.level.label
        if attr == "scopes":
            return reg.scope_names
        if attr == "cert":
            return reg.person.certificate_no or ""
        if attr == "main":
            return reg.institution.name
        return ""
    return f


class _SiteListView(OrgListView):
    """Filings / legacy sites at this institution (rows of another table joined to the
    registration and person)."""

    column_list = ["name", "gender", "age", "category", "level", "scopes", "cert", "main",
                   "since", "detail"]
    column_export_list = ["name", "gender", "id", "age", "category", "level", "scopes", "cert",
                          "main", "since"]
    column_details_list = column_export_list
    column_labels = {"name": "姓名", "gender": "性别", "age": "年龄", "id": "身份证号",
                     "category": "医师类别", "level": "医师级别", "scopes": "执业范围",
                     "cert": "执业证书编码", "main": "主要执业机构", "since": "备案日期",
                     "detail": "详细信息"}
    column_sortable_list = []
    column_default_sort = ("id", False)
    column_auto_select_related = False

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        fm = {k: _via_reg(k) for k in ("name", "gender", "age", "id", "category", "level",
                                       "scopes", "cert", "main")}
        fm["since"] = self._since
        fm["detail"] = _detail_link
        self.column_formatters = fm
        self.column_formatters_detail = fm
        self.column_formatters_export = fm

    def _filtered(self) -> bool:
        return any(k.startswith("flt") for k in request.args)

    def get_query(self):
        # the 医师姓名 filter probes person from the registration, so registration is joined
        # only when a filter is set; person never is (loaded with the page's rows)
        query = super().get_query()
        if self._filtered():
            query = query.join(self.model.registration)
        return query

    def list_loads(self) -> list:
        reg = self.model.registration
        return [joinedload(reg).joinedload(Registration.person),
                joinedload(reg).joinedload(Registration.institution)]

    def get_count_query(self):
        query = super().get_count_query()
        if self._filtered():
            query = query.join(self.model.registration)
        return query


class FiledInView(_SiteListView):
    """外院在本院多执业机构医师: valid filings at this institution."""

    column_filters = [_NameFilter(Filing.registration_id, "医师姓名")]

    @staticmethod
    def _since(v, c, m, n):
        return _fmt(m.filed_on)

    def scope(self, query):
        return query.filter(Filing.institution_id == tenant_institution_id(),
                            Filing.status == FilingStatus.VALID)


class LegacySiteView(_SiteListView):
    """多地点执业在本院医师: valid legacy multi-site records at this institution."""

    column_labels = dict(_SiteListView.column_labels, since="登记日期")
    column_filters = [_NameFilter(LegacySite.registration_id, "医师姓名")]

    @staticmethod
    def _since(v, c, m, n):
        return _fmt(m.added_on)

    def scope(self, query):
        return query.filter(LegacySite.institution_id == tenant_institution_id(),
                            LegacySite.status == FilingStatus.VALID)


class _AccountNameFilter(BaseSQLAFilter):
    def apply(self, query, value, alias=None):
        return query.filter(PhysicianAccount.name.like(value.strip().replace("%", "") + "%"))

    def operation(self):
        return "开头是"


class AccountsView(OrgListView):
    """本院医师账户管理: accounts whose 主要执业机构 is this institution."""

    column_list = ["name", "id_number_masked", "phone", "state", "verification_outcome",
                   "registered_at", "activated_at"]
    column_export_list = column_list
    column_details_list = ["name", "username", "id_number_masked", "phone", "email", "state",
                           "verification_outcome", "registered_at", "verified_at",
                           "activated_at", "activation_method", "revoked_at"]
    column_labels = {"name": "姓名", "username": "用户名", "id_number_masked": "身份证号",
                     "phone": "手机号码", "email": "电子邮箱", "state": "医师账户状态",
                     "verification_outcome": "资格验证状态", "registered_at": "注册时间",
                     "verified_at": "验证时间", "activated_at": "激活时间",
                     "activation_method": "激活方式", "revoked_at": "撤销时间"}
    _f = {"phone": lambda v, c, m, n: mask_phone(m.phone) + ("（已验证）" if m.phone_verified_at
                                                              else "（未验证）"),
          "email": lambda v, c, m, n: __import__("models.identity", fromlist=["x"]).mask_email(
              m.email),
          "state": lambda v, c, m, n: m.state.label,
          "verification_outcome": lambda v, c, m, n: m.verification_outcome.label
          if m.verification_outcome else "",
          "activation_method": lambda v, c, m, n: m.activation_method.label
          if m.activation_method else "",
          "registered_at": lambda v, c, m, n: _fmt(m.registered_at),
          "verified_at": lambda v, c, m, n: _fmt(m.verified_at),
          "activated_at": lambda v, c, m, n: _fmt(m.activated_at),
          "revoked_at": lambda v, c, m, n: _fmt(m.revoked_at)}
    column_formatters = _f
    column_formatters_detail = _f
    column_formatters_export = _f
    column_sortable_list = ["registered_at", "activated_at"]
    column_default_sort = ("id", False)
    column_filters = [_AccountNameFilter(PhysicianAccount.id, "医师姓名")]

    def scope(self, query):
        return query.filter(PhysicianAccount.institution_id == tenant_institution_id())


class OtherProvincesView(RegistrationListView):
    """I16 医师在外省注册情况: this institution's physicians' valid registrations whose
    执业地点 lies in another province."""

    column_list = ["person.name", "person.gender", "age", "category", "level", "scopes",
                   "location", "institution", "authority", "approved_on"]
    column_export_list = ["person.name", "person.gender", "person.id_number_masked", "age",
                          "category", "level", "scopes", "location", "institution",
                          "authority", "approved_on"]
    column_filters = [_NameFilter(Registration.person_id, "医师姓名")]

    def scope(self, query):
        province = _inst().region_code[:2]
        return query.filter(id_in(Registration.person_id, self._persons_elsewhere()),
                            Registration.status == RegistrationStatus.VALID,
                            sa.func.substr(Registration.location_code, 1, 2) != province)

    def _persons_elsewhere(self):
        """This institution's physicians with a valid registration in another province,
        found once per request: its physicians among the few persons registered in more
        than one province (MultiProvincePerson), so the list neither walks the national
        register nor probes it once per physician. A registration's 执业地点 lies in its
        institution's province (the approval derives it from the institution), so such a
        person's other province is another than this one."""
        if "_persons_elsewhere" in g:
            return g._persons_elsewhere
        # both written in (see written_in): planned for this institution, the few persons
        # are hashed (0.2 ms) instead of probed once per physician (5 ms for 4,500)
        valid = written_in(RegistrationStatus.VALID, Registration.status.type)
        g._persons_elsewhere = db.session.scalars(
            sa.select(Registration.person_id)
            .join(MultiProvincePerson, MultiProvincePerson.person_id == Registration.person_id)
            .where(Registration.institution_id == written_in(_inst().id),
                   Registration.status == valid)
        ).all()
        return g._persons_elsewhere


# ====================================================================== I5 / I6

def _account_page(inst_id, name, page, extra=None):
    q = sa.select(PhysicianAccount).where(PhysicianAccount.institution_id == inst_id)
    if extra is not None:
        q = q.where(*extra)
    if name:
        q = q.where(PhysicianAccount.name.like(name.replace("%", "") + "%"))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(q.subquery()))
    rows = db.session.scalars(q.order_by(PhysicianAccount.id.desc())
                              .limit(PAGE_SIZE).offset(page * PAGE_SIZE)).all()
    return total, rows


def _page_arg():
    p = request.args.get("page", "0")
    return int(p) if p.isdigit() and int(p) < 100000 else 0


class ActivationView(OrgPage):
    """I5 医师账户激活."""

    @expose("/")
    def index(self):
        from services.activation import ELIGIBLE_STATES
        inst = _inst()
        name = (request.args.get("name") or "").strip()[:30]
        page = _page_arg()
        total, rows = _account_page(inst.id, name, page, [
            PhysicianAccount.verification_outcome == VerificationOutcome.IN_REGISTER,
            PhysicianAccount.state.in_(ELIGIBLE_STATES)])
        codes = {c.account_id: c for c in db.session.scalars(sa.select(ActivationCode).where(
            ActivationCode.institution_id == inst.id,
            ActivationCode.account_id.in_([r.id for r in rows])))} if rows else {}
        items = []
        for a in rows:
            c = codes.get(a.id)
            if a.state == AccountState.ACTIVATED:
                op = "正常激活" if c and c.used_at else "已激活"
            elif c is None:
                op = None
            elif c.sent_via == "sms":
                op = "激活码已发送到手机"
            elif c.sent_via == "email":
                op = "激活码已发送到邮箱"
            else:
                op = "尚未发送（请当面告知医师）"
            items.append({"a": a, "code": _mask_code(c.code) if c else "",
                          "code_at": _fmt(c.created_at) if c else "",
                          "activated": "已激活" if a.state == AccountState.ACTIVATED else "未激活",
                          "op": op, "can_generate": c is None
                          and a.state == AccountState.VERIFIED})
        return self.render_page("activation.html", items=items, total=total, name=name,
                                page=page, pages=(total + PAGE_SIZE - 1) // PAGE_SIZE,
                                fmt=_fmt)

    @expose("/generate", methods=["POST"])
    def generate(self):
        from services.activation import generate_activation_code, generate_activation_codes
        inst_id = tenant_institution_id()
        single = _int(request.form.get("single"))
        ids = [single] if single else [
            i for i in (_int(v) for v in request.form.getlist("account_id")) if i]
        back = url_for(".index", name=request.form.get("name") or None)
        if not ids:
            flash("请选择要生成激活码的医师。", "error")
            return redirect(back)
        accounts = list(db.session.scalars(sa.select(PhysicianAccount).where(
            PhysicianAccount.id.in_(ids), PhysicianAccount.institution_id == inst_id)))
        if len(accounts) != len(set(ids)):
            abort(404)
        actor = current_actor()
        if len(accounts) == 1:
            try:
                generate_activation_code(actor, accounts[0])
            except DomainError as exc:
                self.fail(exc)
            else:
                flash(f"已为{accounts[0].name}生成激活码，并发送到医师本人已验证的手机或邮箱。",
                      "success")
        else:
            try:
                issued, skipped = generate_activation_codes(actor, accounts)
            except DomainError as exc:
                self.fail(exc)
            else:
                flash(f"已生成{issued}个激活码；{skipped}名医师已有激活码或已激活，未重复发放。",
                      "success")
        return redirect(back)


class RevokeView(OrgPage):
    """I6 撤销医师账户."""

    def _rows(self, inst_id, name, page):
        total, rows = _account_page(inst_id, name, page,
                                    [PhysicianAccount.state != AccountState.REVOKED])
        pids = [a.person_id for a in rows if a.person_id]
        regs = {}
        if pids:
            # from the page's 50 persons, never the institution's index: SQLite's statistics
            # give an institution 5 registrations on average, and it walked the big
            # hospital's 4,500 instead (2.7 → 0.7 ms); `+ 0` keeps any planner off it
            for r in db.session.scalars(sa.select(Registration).where(
                    Registration.person_id.in_(pids),
                    Registration.institution_id + 0 == inst_id)
                    .options(joinedload(Registration.person))
                    .order_by(Registration.status != RegistrationStatus.VALID,
                              Registration.id.desc())):
                regs.setdefault(r.person_id, r)
        return total, [(a, regs.get(a.person_id)) for a in rows]

    @expose("/")
    def index(self):
        inst = _inst()
        name = (request.args.get("name") or "").strip()[:30]
        page = _page_arg()
        total, rows = self._rows(inst.id, name, page)
        return self.render_page("revoke.html", rows=rows, total=total, name=name, page=page,
                                pages=(total + PAGE_SIZE - 1) // PAGE_SIZE)

    def _account(self, value):
        acct_id = _int(value)
        acct = db.session.scalar(sa.select(PhysicianAccount).where(
            PhysicianAccount.id == (acct_id or -1),
            PhysicianAccount.institution_id == tenant_institution_id()))
        if acct is None:
            abort(404)
        return acct

    @expose("/confirm", methods=["GET"])
    def confirm(self):
        acct = self._account(request.args.get("id"))
        return self.render_page("revoke_confirm.html", acct=acct)

    @expose("/revoke", methods=["POST"])
    def revoke(self):
        from services.institution import revoke_physician_account
        acct = self._account(request.form.get("id"))
        try:
            revoke_physician_account(current_actor(), acct, request.form.get("reason", ""))
        except DomainError as exc:
            self.fail(exc)
        else:
            flash(f"已撤销{acct.name}的医师账户；该医师可重新注册账户。", "success")
        return redirect(url_for(".index"))


# ====================================================================== I9 本院医师信息审核

class InfoReviewView(OrgPage):

    def _pending_account_ids(self, inst_id):
        cr = sa.select(ChangeRequest.account_id.label("aid")).where(
            ChangeRequest.institution_id == inst_id, ChangeRequest.status == ReviewStatus.PENDING)
        ph = sa.select(Photo.account_id.label("aid")).where(
            Photo.institution_id == inst_id, Photo.status == ReviewStatus.PENDING)
        return sa.union(cr, ph).subquery()

    @expose("/")
    def index(self):
        inst = _inst()
        name = (request.args.get("name") or "").strip()[:30]
        ids = self._pending_account_ids(inst.id)
        q = sa.select(PhysicianAccount).where(PhysicianAccount.id.in_(sa.select(ids.c.aid)))
        if name:
            q = q.where(PhysicianAccount.name.like(name.replace("%", "") + "%"))
        accounts = db.session.scalars(q.order_by(PhysicianAccount.id)).all()
        aids = [a.id for a in accounts]
        info = set(db.session.scalars(sa.select(ChangeRequest.account_id).where(
            ChangeRequest.account_id.in_(aids), ChangeRequest.institution_id == inst.id,
            ChangeRequest.status == ReviewStatus.PENDING))) if aids else set()
        photo = set(db.session.scalars(sa.select(Photo.account_id).where(
            Photo.account_id.in_(aids), Photo.institution_id == inst.id,
            Photo.status == ReviewStatus.PENDING))) if aids else set()
        rows = [(a, a.id in info, a.id in photo) for a in accounts]
        return self.render_page("review_list.html", rows=rows, total=len(rows), name=name,
                                fmt=_fmt)

    def _load(self, account_id):
        inst_id = tenant_institution_id()
        acct = db.session.get(PhysicianAccount, _int(account_id) or -1)
        if acct is None:
            abort(404)
        cr = db.session.scalar(sa.select(ChangeRequest).where(
            ChangeRequest.account_id == acct.id, ChangeRequest.institution_id == inst_id,
            ChangeRequest.status == ReviewStatus.PENDING))
        photo = db.session.scalar(sa.select(Photo).where(
            Photo.account_id == acct.id, Photo.institution_id == inst_id,
            Photo.status == ReviewStatus.PENDING))
        if cr is None and photo is None:
            abort(404)
        return acct, cr, photo

    @expose("/review")
    def review(self):
        acct, cr, photo = self._load(request.args.get("account_id"))
        inst = _inst()
        reg = cr.registration if cr else (db.session.scalar(sa.select(Registration).where(
            Registration.person_id == acct.person_id, Registration.institution_id == inst.id,
            Registration.status == RegistrationStatus.VALID)) if acct.person_id else None)
        person = reg.person if reg else None
        qual = reg.qualification if reg else None
        edu, title = _ref_labels("education"), _ref_labels("title")
        orig = {
            "education": edu.get((reg.education_code if reg else None)
                                 or (qual.education_code if qual else None) or "", ""),
            "school": (reg.school if reg else None) or (qual.school if qual else ""),
            "title": title.get((reg.title_code if reg else None) or "", ""),
            "major": (reg.major if reg else None) or (qual.major if qual else ""),
        }
        wanted = {}
        if cr:
            if cr.school is not None:
                wanted["毕业学校请求变更为"] = cr.school
            if cr.education_code is not None:
                wanted["学历请求变更为"] = edu.get(cr.education_code, cr.education_code)
            if cr.title_code is not None:
                wanted["任职资格请求变更为"] = title.get(cr.title_code, cr.title_code)
            if cr.major is not None:
                wanted["所学专业请求变更为"] = cr.major
        current_photo = (db.session.get(Photo, reg.photo_id)
                         if reg is not None and reg.photo_id else None)
        return self.render_page("review.html", acct=acct, cr=cr, photo=photo, reg=reg,
                                person=person, orig=orig, wanted=wanted,
                                current_photo=current_photo, fmt=_fmt,
                                departments=inst.departments)

    @expose("/decide", methods=["POST"])
    def decide(self):
        from services.review import review_change_request, review_photo
        acct, cr, photo = self._load(request.form.get("account_id"))
        approve = request.form.get("decision") == "approve"
        reason = request.form.get("reason", "")
        actor = current_actor()
        back = url_for(".review", account_id=acct.id)
        try:
            if cr is not None:
                review_change_request(actor, cr, approve, reason)
            if photo is not None:
                review_photo(actor, photo, approve, reason)
        except DomainError as exc:
            self.fail(exc)
            return redirect(back)
        flash("审核通过，医师信息已更新。" if approve else "已审核不通过，并通知医师。", "success")
        return redirect(url_for(".index"))

    @expose("/department", methods=["POST"])
    def department(self):
        from services.institution import set_physician_department
        acct, cr, photo = self._load(request.form.get("account_id"))
        reg = db.session.scalar(sa.select(Registration).where(
            Registration.person_id == (acct.person_id or -1),
            Registration.institution_id == tenant_institution_id(),
            Registration.status == RegistrationStatus.VALID))
        if reg is None:
            abort(404)
        try:
            set_physician_department(current_actor(), reg,
                                     _int(request.form.get("department_id")))
        except DomainError as exc:
            self.fail(exc)
        else:
            flash("医师所在科室已保存。", "success")
        return redirect(url_for(".review", account_id=acct.id))

    @expose("/photo/<int:photo_id>")
    def photo(self, photo_id):
        """Photo bytes of this institution's physicians only (pending or in use here)."""
        inst_id = tenant_institution_id()
        ph = db.session.get(Photo, photo_id)
        if ph is None:
            abort(404)
        in_use = db.session.scalar(sa.select(Registration.id).where(
            Registration.photo_id == ph.id, Registration.institution_id == inst_id).limit(1))
        if ph.institution_id != inst_id and not in_use:
            abort(404)
        resp = Response(ph.data, mimetype=ph.content_type)
        resp.headers["Cache-Control"] = "private, no-store"
        return resp


# ====================================================================== I8 医师验证

class _VerifyView(OrgPage):
    template = ""
    what = ""

    @expose("/", methods=["GET", "POST"])
    def index(self):
        id_number = ""
        person = None
        searched = False
        error = None
        if request.method == "POST":
            from services.accounts import check_id_number
            id_number = (request.form.get("id_number") or "").strip().upper()[:18]
            searched = True
            try:
                check_id_number(id_number)
            except DomainError:
                error = "请输入正确的18位身份证号码。"
            else:
                person = db.session.scalar(sa.select(Person).where(
                    Person.id_number_hash == id_blind_index(id_number)))
                audit.record(current_actor(), "physician_lookup", person,
                             detail=f"{self.what}：{'查到' if person else '未查到'}")
                db.session.commit()
        data = self.lookup(person) if person else []
        # the full 身份证号 is not echoed back into the page
        return self.render_page(self.template, id_number="", person=person, rows=data,
                                searched=searched, error=error, fmt=_fmt,
                                edu=_ref_labels("education") if person else {})


class QualificationVerifyView(_VerifyView):
    template = "verify_qualification.html"
    what = "医师资格信息验证"

    def lookup(self, person):
        return list(db.session.scalars(sa.select(Qualification).where(
            Qualification.person_id == person.id).order_by(Qualification.year)))


class RegistrationVerifyView(_VerifyView):
    template = "verify_registration.html"
    what = "医师注册信息验证"

    def lookup(self, person):
        return list(db.session.scalars(sa.select(Registration).where(
            Registration.person_id == person.id).options(
                selectinload(Registration.qualification), selectinload(Registration.institution),
                selectinload(Registration.authority)).order_by(Registration.id)))


class CreditVerifyView(_VerifyView):
    template = "verify_credit.html"
    what = "医师信用验证"

    def lookup(self, person):
        return list(db.session.scalars(sa.select(CreditRecord).where(
            CreditRecord.person_id == person.id).options(selectinload(CreditRecord.authority))
            .order_by(CreditRecord.decided_on.desc())))


# ====================================================================== 系统功能

class AuthoritiesView(OrgPage):
    """I2 审批机关设置."""

    @expose("/", methods=["GET", "POST"])
    def index(self):
        from services.institution import eligible_authorities, set_authority
        inst = _inst()
        choices = eligible_authorities(inst)
        errors = {}
        if request.method == "POST":
            actor = current_actor()
            saved = 0
            for cat in PhysicianCategory:
                value = request.form.get(f"cat_{cat.value}", "")
                if not value:
                    continue
                try:
                    set_authority(actor, inst, cat, _int(value) or -1)
                    saved += 1
                except DomainError as exc:
                    errors[cat.value] = exc.message
            if not errors:
                flash("审批机关设置已保存。" if saved else "未修改任何设置。",
                      "success" if saved else "info")
                return redirect(url_for(".index"))
            db.session.expire_all()
            inst = _inst()
        current = {link.category: link.authority for link in inst.authorities}
        cats = [(c, f"{c.short_label}类别医师审批机关", current.get(c)) for c in PhysicianCategory]
        return self.render_page("authorities.html", cats=cats, choices=choices, errors=errors)


class DepartmentsView(OrgPage):
    """I3 设置本院科室信息."""

    @expose("/", methods=["GET", "POST"])
    def index(self):
        from services.institution import add_department
        inst = _inst()
        errors = {}
        name = ""
        selected = set()
        flt = (request.values.get("subject_filter") or "").strip()[:20]
        if request.method == "POST" and request.form.get("action") == "add":
            name = request.form.get("name", "")
            selected = set(request.form.getlist("subjects"))
            try:
                add_department(current_actor(), inst, name, list(selected))
            except DomainError as exc:
                errors[exc.field or "name"] = exc.message
            else:
                flash(f"已增加科室“{name.strip()}”。", "success")
                return redirect(url_for(".index"))
        elif request.method == "POST":  # 诊疗科目名称筛选 without JS: keep what was entered
            name = request.form.get("name", "")[:30]
            selected = set(request.form.getlist("subjects"))
        q = sa.select(TreatmentSubject).order_by(TreatmentSubject.code)
        subjects = db.session.scalars(q).all()
        if flt:
            shown = [s for s in subjects if flt in s.display_name or flt in s.name
                     or s.code.startswith(flt) or s.code in selected]
        else:
            shown = subjects
        depts = db.session.scalars(sa.select(Department).where(
            Department.institution_id == inst.id).options(selectinload(Department.subjects))
            .order_by(Department.name)).all()
        return self.render_page("departments.html", subjects=shown, depts=depts, errors=errors,
                                name=name, selected=selected, subject_filter=flt)

    @expose("/delete", methods=["POST"])
    def delete(self):
        from services.institution import delete_department
        dept = db.session.scalar(sa.select(Department).where(
            Department.id == (_int(request.form.get("id")) or -1),
            Department.institution_id == tenant_institution_id()))
        if dept is None:
            abort(404)
        name = dept.name
        try:
            delete_department(current_actor(), dept)
        except DomainError as exc:
            self.fail(exc)
        else:
            flash(f"已删除科室“{name}”。", "success")
        return redirect(url_for(".index"))


class PhysicianDepartmentsView(OrgPage):
    """I4 本院医师所在科室信息维护."""

    @expose("/")
    def index(self):
        inst = _inst()
        name = (request.args.get("name") or "").strip()[:30]
        page = _page_arg()
        q = sa.select(Registration).where(Registration.institution_id == inst.id,
                                          Registration.status == RegistrationStatus.VALID)
        if name:  # a probe per row: the count and the page need no join to person
            named = sa.orm.aliased(Person)
            q = q.where(sa.exists().where(named.id == Registration.person_id,
                                          named.name.like(name.replace("%", "") + "%")))
        total = db.session.scalar(sa.select(sa.func.count()).select_from(q.subquery()))
        # the institution's 科室 with their 诊疗科目 first: each row's 所在科室 is then one of
        # them, found in the session without a statement of its own
        departments = db.session.scalars(sa.select(Department).where(
            Department.institution_id == inst.id).options(collection_load(Department.subjects))
            .order_by(Department.name)).unique().all()
        regs = db.session.scalars(page_rows_select(
            q.order_by(Registration.id.desc()).limit(PAGE_SIZE).offset(page * PAGE_SIZE),
            Registration,
            joinedload(Registration.person).joinedload(Person.live_account))).all()
        rows = [(r, r.person.live_account) for r in regs]
        return self.render_page("physician_departments.html", rows=rows, total=total,
                                name=name, page=page,
                                pages=(total + PAGE_SIZE - 1) // PAGE_SIZE,
                                departments=departments, activated=AccountState.ACTIVATED)

    @expose("/set", methods=["POST"])
    def set(self):
        from services.institution import set_physician_department
        reg = db.session.scalar(sa.select(Registration).where(
            Registration.id == (_int(request.form.get("registration_id")) or -1),
            Registration.institution_id == tenant_institution_id()))
        if reg is None:
            abort(404)
        try:
            set_physician_department(current_actor(), reg,
                                     _int(request.form.get("department_id")))
        except DomainError as exc:
            self.fail(exc)
        else:
            flash(f"已保存{reg.person.name}的所在科室。", "success")
        return redirect(url_for(".index", name=request.form.get("name") or None))


class SecurityView(OrgPage):
    """安全设置: change the console password (ends the other sessions)."""

    @expose("/", methods=["GET", "POST"])
    def index(self):
        return password_change_page(lambda **kw: self.render_page("security.html", **kw))


# ====================================================================== 综合 / 统计 / 客服

class ProfileView(OrgPage):
    """I19 综合信息."""

    @expose("/")
    def index(self):
        from services.institution import profile_counts
        inst = _inst()
        current = {link.category: link.authority for link in inst.authorities}
        return self.render_page("profile.html", summary=profile_counts(inst.id),
                                authorities=[(c, current.get(c)) for c in PhysicianCategory])


class StatisticsView(OrgPage):
    """I15 统计信息."""

    @expose("/")
    def index(self):
        from services.statistics import institution_statistics
        stats = institution_statistics(tenant_institution_id())
        return self.render_page("statistics.html", stats=stats)


class SupportView(OrgPage):
    """I17 客服中心: 常见问题列表, 向客服提问, 客服回复管理."""

    def _mine(self):
        from services.support import questions_of
        return questions_of(UserKind.CONSOLE, current_user.id)

    @expose("/", methods=["GET", "POST"])
    def index(self):
        from services.support import ask_question, faq
        errors = {}
        title = body = ""
        if request.method == "POST":
            title, body = request.form.get("title", ""), request.form.get("body", "")
            inst = _inst()
            try:
                ask_question(current_actor(), title, body, inst.licensing_authority_id)
            except DomainError as exc:
                errors[exc.field or "title"] = exc.message
            else:
                flash("问题已提交，客服人员将第一时间回答您的问题。", "success")
                return redirect(url_for(".index"))
        return self.render_page("support.html", faqs=faq(FaqAudience.INSTITUTION),
                                questions=self._mine(), errors=errors, title=title, body=body,
                                fmt=_fmt)

    @expose("/faq/<int:faq_id>")
    def faq_detail(self, faq_id):
        entry = db.session.get(FaqEntry, faq_id)
        if entry is None or entry.audience != FaqAudience.INSTITUTION or not entry.published:
            abort(404)
        return self.render_page("faq_detail.html", entry=entry)

    def _question(self, qid):
        q = db.session.get(Question, _int(qid) or -1)
        if (q is None or q.asker_kind != UserKind.CONSOLE or q.asker_id != current_user.id
                or q.hidden_by_asker):
            abort(404)
        return q

    @expose("/question/<int:qid>")
    def question(self, qid):
        return self.render_page("question_detail.html", q=self._question(qid), fmt=_fmt)

    @expose("/question/delete", methods=["POST"])
    def delete_question(self):
        from services.support import hide_question
        q = self._question(request.form.get("id"))
        try:
            hide_question(current_actor(), q)
        except DomainError as exc:
            self.fail(exc)
        else:
            flash("已删除该问题。", "success")
        return redirect(url_for(".index"))


DOCS = Path(__file__).resolve().parent.parent / "docs"
MANUALS = {
    "quickstart": ("医疗机构端快速入门手册", "org_quickstart.md"),
    "manual": ("医师电子化注册信息系统（医疗机构版）用户手册", "org_user_manual.md"),
}


class ManualsView(OrgPage):
    """I18 手册下载."""

    @expose("/")
    def index(self):
        return self.render_page("manuals.html", manuals=MANUALS)

    @expose("/download/<key>")
    def download(self, key):
        if key not in MANUALS:
            abort(404)
        title, fname = MANUALS[key]
        path = DOCS / fname
        if not path.is_file():
            abort(404)
        resp = send_file(path, mimetype="text/markdown; charset=utf-8", as_attachment=True,
                         download_name=f"{title}.md")
        return resp


# ====================================================================== wiring

def build_org_admin(app) -> Admin:
    admin = Admin(app, name="医师电子化注册信息系统（机构端）", url="/org",
                  endpoint="org",
                  index_view=OrgIndexView(name="首页", url="/org", endpoint="org"),
                  theme=Bootstrap4Theme(swatch="cerulean", fluid=True,
                                        base_template="admin/console_base.html"),
                  translations_path=app.config["ADMIN_TRANSLATIONS"],
                  csp_nonce_generator=_nonce)
    s = db.session
    cat = "本院执业医师信息"

    def page(cls, name, category, endpoint):
        admin.add_view(cls(name=name, category=category, endpoint=endpoint,
                           url=f"/org/{endpoint[4:].replace('_', '-')}"))

    def model(cls, mdl, name, category, endpoint):
        admin.add_view(cls(mdl, s, name=name, category=category, endpoint=endpoint,
                           url=f"/org/{endpoint[4:].replace('_', '-')}"))

    model(MainPhysicianView, Registration, "主执业机构在本院医师", cat, "org_main_physicians")
    model(FiledOutView, Registration, "本院多执业机构备案医师", cat, "org_filed_out")
    model(FiledInView, Filing, "外院在本院多执业机构医师", cat, "org_filed_in")
    model(LegacySiteView, LegacySite, "多地点执业在本院医师", cat, "org_legacy_sites")
    model(FiledPhysiciansView, Registration, "本院备案医师", cat, "org_filed_physicians")
    page(ActivationView, "医师账户激活", cat, "org_activation")
    page(RevokeView, "撤销医师账户", cat, "org_revoke")
    model(AccountsView, PhysicianAccount, "本院医师账户管理", cat, "org_accounts")
    page(ManualsView, "使用手册下载", cat, "org_manuals")
    page(InfoReviewView, "本院医师信息审核", "业务办理", "org_info_review")
    # 医师变动信息: the daily change feed of this institution's physicians
    from . import org_feed
    org_feed.register(admin)
    # 业务办理: the business applications (applications issue)
    from . import org_business
    org_business.register(admin)
    page(QualificationVerifyView, "医师资格信息验证", "医师验证", "org_verify_qualification")
    page(RegistrationVerifyView, "医师注册信息验证", "医师验证", "org_verify_registration")
    page(CreditVerifyView, "医师信用验证", "医师验证", "org_verify_credit")
    page(ProfileView, "本机构信息", "综合信息", "org_profile")
    page(DepartmentsView, "设置本院科室信息", "系统功能", "org_departments")
    page(PhysicianDepartmentsView, "本院医师所在科室信息维护", "系统功能",
         "org_physician_departments")
    page(AuthoritiesView, "审批机关设置", "系统功能", "org_authorities")
    page(SecurityView, "安全设置", "系统功能", "org_security")
    page(StatisticsView, "统计信息", "统计信息", "org_statistics")
    model(OtherProvincesView, Registration, "医师在外省注册情况", "医师在外省注册情况",
          "org_other_provinces")
    page(SupportView, "客服中心", "客服中心", "org_support")
    return admin


def _nonce():
    from .base import current_nonce
    return current_nonce()


__all__ = ["build_org_admin", "OrgMixin"]
