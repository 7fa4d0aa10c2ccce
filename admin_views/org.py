"""The institution console /org/ (医疗机构端). Every view sees only this institution's rows."""
import sqlalchemy as sa
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user
from sqlalchemy.orm import selectinload

from models import db
from models.account import PhysicianAccount
from models.enums import ConsoleRole, RegistrationStatus
from models.registry import Registration

from .base import ConsoleIndexView, PlaceholderView, ScopedModelView, tenant_institution_id

ROLES = (ConsoleRole.INSTITUTION_ADMIN,)


class OrgMixin:
    area = "org"
    allowed_roles = ROLES


class OrgIndexView(OrgMixin, ConsoleIndexView):
    def dashboard(self):
        inst = current_user.institution
        counts = dict(db.session.execute(
            sa.select(Registration.status, sa.func.count())
            .where(Registration.institution_id == inst.id).group_by(Registration.status)).all())
        return {"institution": inst,
                "counts": [(s.label, counts.get(s, 0)) for s in RegistrationStatus]}


class OrgPlaceholder(OrgMixin, PlaceholderView):
    pass


def _age(view, context, model, name):
    return model.person.age()


def _account_state(view, context, model, name):
    acct = view.accounts_by_person.get(model.person_id)
    return acct.state.label if acct else "尚未注册账户"


class MainPhysicianView(OrgMixin, ScopedModelView):
    """主执业机构在本院医师: valid registrations whose 主要执业机构 is this institution."""

    column_list = ["person.name", "person.gender", "age", "category", "level", "scopes",
                   "person.certificate_no", "department", "account_state",
                   "info_modified_on"]
    column_labels = {"person.name": "姓名", "person.gender": "性别", "age": "年龄",
                     "category": "医师类别", "level": "医师级别", "scopes": "执业范围",
                     "person.certificate_no": "执业证书编码", "department": "所在科室",
                     "account_state": "医师账户状态", "info_modified_on": "审核日期",
                     "location": "执业地点", "authority": "审批机关", "approved_on": "批准日期",
                     "status": "注册状态", "person.id_number_masked": "身份证号",
                     "qualification": "资格证书编码"}
    column_details_list = ["person.name", "person.gender", "person.id_number_masked",
                           "category", "level", "scopes", "location", "person.certificate_no",
                           "qualification", "department", "authority", "approved_on", "status"]
    column_formatters = {
        "age": _age, "account_state": _account_state,
        "category": lambda v, c, m, n: m.category.label,
        "level": lambda v, c, m, n: m.level.label,
        "status": lambda v, c, m, n: m.status.label,
        "person.gender": lambda v, c, m, n: m.person.gender.label,
        "scopes": lambda v, c, m, n: m.scope_names,
    }
    column_formatters_detail = column_formatters
    column_sortable_list = [("person.name", "person.name"), "approved_on"]
    column_default_sort = ("id", False)
    column_filters = []

    def scope(self, query):
        return query.filter(Registration.institution_id == tenant_institution_id(),
                            Registration.status == RegistrationStatus.VALID)

    def get_query(self):
        # scopes and department are eager-loaded by Flask-Admin (relations in column_list)
        return super().get_query().join(Registration.person).options(
            selectinload(Registration.person))

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        person_ids = [r.person_id for r in rows]
        self.accounts_by_person = {
            a.person_id: a for a in db.session.scalars(sa.select(PhysicianAccount).where(
                PhysicianAccount.person_id.in_(person_ids)))} if person_ids else {}
        return count, rows


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
    admin.add_view(MainPhysicianView(Registration, s, name="主执业机构在本院医师", category=cat,
                                     endpoint="org_main_physicians", url="/org/main-physicians"))
    placeholders = [
        (cat, "本院多执业机构备案医师", "org_filed_out", "4"),
        (cat, "外院在本院多执业机构医师", "org_filed_in", "4"),
        (cat, "多地点执业在本院医师", "org_legacy_sites", "4"),
        (cat, "本院备案医师", "org_filed_physicians", "4"),
        (cat, "医师账户激活", "org_activation", "4"),
        (cat, "撤销医师账户", "org_revoke", "4"),
        (cat, "本院医师账户管理", "org_accounts", "4"),
        ("业务办理", "本院医师信息审核", "org_info_review", "4"),
    ]
    for category, name, endpoint, issue in placeholders:
        admin.add_view(OrgPlaceholder(name=name, category=category, endpoint=endpoint,
                                      url=f"/org/{endpoint[4:].replace('_', '-')}", issue=issue))
    # 业务办理: the business applications (applications issue)
    from . import org_business
    org_business.register(admin)
    placeholders = [
        ("医师验证", "医师资格信息验证", "org_verify_qualification", "4"),
        ("医师验证", "医师注册信息验证", "org_verify_registration", "4"),
        ("医师验证", "医师信用验证", "org_verify_credit", "4"),
        ("综合信息", "本机构信息", "org_profile", "4"),
        ("系统功能", "设置本院科室信息", "org_departments", "4"),
        ("系统功能", "本院医师所在科室信息维护", "org_physician_departments", "4"),
        ("系统功能", "审批机关设置", "org_authorities", "4"),
        ("系统功能", "安全设置", "org_security", "4"),
        ("统计信息", "统计信息", "org_statistics", "4"),
        ("医师在外省注册情况", "医师在外省注册情况", "org_other_provinces", "4"),
        ("客服中心", "客服中心", "org_support", "4"),
    ]
    for category, name, endpoint, issue in placeholders:
        admin.add_view(OrgPlaceholder(name=name, category=category, endpoint=endpoint,
                                      url=f"/org/{endpoint[4:].replace('_', '-')}", issue=issue))
    return admin


def _nonce():
    from .base import current_nonce
    return current_nonce()


__all__ = ["build_org_admin"]
