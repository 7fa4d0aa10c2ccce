"""/gov/ 业务审批: the commission's approvals (C2)."""
from .base import PlaceholderView


def register(admin):
    from .gov import REVIEWER, GovMixin

    class GovApprovalPlaceholder(GovMixin, PlaceholderView):
        allowed_roles = REVIEWER

    for name, endpoint in [("待审批业务", "gov_pending"), ("已批准业务", "gov_approved"),
                           ("不予批准业务", "gov_rejected")]:
        admin.add_view(GovApprovalPlaceholder(
            name=name, category="业务审批", endpoint=endpoint,
            url=f"/gov/{endpoint[4:].replace('_', '-')}", issue="5"))
