"""/org/ 业务办理: the institution's side of the business applications (I10–I14)."""
from .base import PlaceholderView


def register(admin):
    from .org import OrgMixin

    class OrgBusinessPlaceholder(OrgMixin, PlaceholderView):
        pass

    for name, endpoint in [("医师申请业务办理", "org_applications"),
                           ("医师正在申办的业务列表", "org_applications_open"),
                           ("已完成审批业务列表", "org_applications_done"),
                           ("机构更名变更", "org_rename"), ("申请备案", "org_apply_filing"),
                           ("申请注销", "org_apply_cancel"),
                           ("备案注销申请情况列表", "org_filing_cancel_list")]:
        admin.add_view(OrgBusinessPlaceholder(
            name=name, category="业务办理", endpoint=endpoint,
            url=f"/org/{endpoint[4:].replace('_', '-')}", issue="5"))
