"""The commission console /gov/ (审批端). A commission sees its region and below; system
administrators and auditors have their own menus (separation of duties)."""
import sqlalchemy as sa
from flask import abort
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user

from models import db
from models.enums import ApplicationStatus, ConsoleRole
from models.application import Application
from models.institution import Institution
from models.reference import region_prefix

from .base import ConsoleIndexView, PlaceholderView, ScopedModelView

REVIEWER = (ConsoleRole.REVIEWER,)
SYSADMIN = (ConsoleRole.SYSADMIN,)
AUDITOR = (ConsoleRole.AUDITOR,)
ALL = (ConsoleRole.REVIEWER, ConsoleRole.SYSADMIN, ConsoleRole.AUDITOR)


def jurisdiction_prefix() -> str:
    """Region-code prefix of the current commission's jurisdiction ('' = national)."""
    authority = current_user.authority
    if authority is None:
        abort(403)
    if authority.level.value == "national":
        return ""
    return region_prefix(authority.region_code)


def in_jurisdiction(column):
    prefix = jurisdiction_prefix()
    return sa.true() if not prefix else column.like(prefix + "%")


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


class GovPlaceholder(GovMixin, PlaceholderView):
    def __init__(self, *args, roles=REVIEWER, **kwargs):
        self.allowed_roles = roles
        super().__init__(*args, **kwargs)


class InstitutionView(GovMixin, ScopedModelView):
    """医疗机构 in this commission's jurisdiction (C1 list)."""

    column_list = ["name", "license_no", "region", "address", "responsible_person",
                   "licensing_authority", "active"]
    column_details_list = column_list + ["created_at"]
    column_labels = {"name": "机构标准名称", "license_no": "执业许可证登记号", "region": "所在地区",
                     "address": "地址", "responsible_person": "负责人",
                     "licensing_authority": "发证机关", "active": "是否启用",
                     "created_at": "创建时间"}
    column_searchable_list = []
    column_sortable_list = ["name", "license_no"]
    column_default_sort = ("id", False)

    def scope(self, query):
        return query.filter(in_jurisdiction(Institution.region_code))


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
    admin.add_view(InstitutionView(Institution, s, name="医疗机构", category="机构账户",
                                   endpoint="gov_institutions", url="/gov/institutions"))
    placeholders = [
        ("注册库", "医师资格", "gov_qualifications", "6", REVIEWER),
        ("注册库", "执业注册", "gov_registrations", "6", REVIEWER),
        ("注册库", "定期考核", "gov_assessments", "6", REVIEWER),
        ("注册库", "信用记录", "gov_credit", "6", REVIEWER),
        ("注册库", "数据导入", "gov_import", "6", REVIEWER),
        ("注册库", "补录老人资格", "gov_old_qualification", "6", REVIEWER),
        ("直接办理业务", "港澳台及外国医师", "gov_direct", "6", REVIEWER),
        ("问答", "问题答复", "gov_questions", "6", REVIEWER),
        ("问答", "热点问题与常见问题", "gov_faq", "6", REVIEWER),
        ("统计信息", "统计信息", "gov_statistics", "6", REVIEWER),
        ("审计日志", "审计日志", "gov_audit", "6", AUDITOR),
        ("系统管理", "审批机关", "gov_authorities", "6", SYSADMIN),
        ("系统管理", "后台账户", "gov_accounts", "6", SYSADMIN),
    ]
    for category, name, endpoint, issue, roles in placeholders:
        admin.add_view(GovPlaceholder(name=name, category=category, endpoint=endpoint,
                                      url=f"/gov/{endpoint[4:].replace('_', '-')}",
                                      issue=issue, roles=roles))
    return admin


__all__ = ["build_gov_admin", "jurisdiction_prefix", "in_jurisdiction"]
