"""/gov/ 业务审批: the commission's approvals (C2). Rows scoped to
Application.authority_id == current_user.authority_id; another authority's id → 404."""
import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from models import db
from models.application import Application
from models.enums import ApplicationStatus as S
from services import DomainError
from services import applications as svc
from services import workdays
from web.auth import current_actor

from .base import BaseView, ConsoleAccessMixin, expose

LIMIT = 200


def _authority_id() -> int:
    aid = getattr(current_user, "authority_id", None)
    if not aid:
        abort(403)
    return aid


def _scoped(app_id: int) -> Application:
    app = db.session.scalar(sa.select(Application).where(
        Application.id == app_id, Application.authority_id == _authority_id()))
    if app is None:
        abort(404)
    return app


def register(admin):
    from .gov import REVIEWER, GovMixin
    from .org_business import (load_queue, load_rows, pdf_response, record_context,
                               search_filter)

    class _ListView(GovMixin, ConsoleAccessMixin, BaseView):
        allowed_roles = REVIEWER
        status = None
        title = ""

        @expose("/")
        def index(self):
            q = sa.select(Application).where(Application.authority_id == _authority_id(),
                                             Application.status == self.status)
            q = search_filter(q, request.args)
            if self.status == S.PENDING_APPROVAL:
                # oldest acceptance first: the overdue ones lead the list
                rows = load_queue(q, (Application.accepted_on, Application.id))
            else:
                rows = load_rows(q)
            days = workdays.days_left_many(
                {a.id: a.accepted_on for a in rows if a.accepted_on}) \
                if self.status == S.PENDING_APPROVAL else {}
            return self.render("admin/business/gov_list.html", rows=rows, days=days,
                               args=request.args, pending=self.status == S.PENDING_APPROVAL)

    class PendingView(_ListView):
        status = S.PENDING_APPROVAL

        @expose("/<int:app_id>")
        def detail(self, app_id):
            app = _scoped(app_id)
            ctx = record_context(app, reveal=True)
            if app.accepted_on and app.status == S.PENDING_APPROVAL:
                ctx["days_left"] = workdays.days_left(app.accepted_on)
                ctx["deadline"] = workdays.deadline(app.accepted_on)
            return self.render("admin/business/gov_detail.html", **ctx)

        @expose("/<int:app_id>/decide", methods=["POST"])
        def decide(self, app_id):
            app = _scoped(app_id)
            action = request.form.get("action")
            opinion = request.form.get("opinion", "")
            try:
                if action == "approve":
                    svc.approve_application(current_actor(), app.id, opinion)
                elif action == "reject":
                    svc.reject_application(current_actor(), app.id, opinion)
                else:
                    raise DomainError("请选择批准或不予批准。")
            except DomainError as e:
                db.session.rollback()
                flash(e.message, "error")
                return redirect(url_for(".detail", app_id=app_id))
            flash("已批准。" if action == "approve" else "已不予批准，理由已书面通知申请人及其所在机构。",
                  "success")
            return redirect(url_for(".index"))

        @expose("/<int:app_id>/print")
        def print_form(self, app_id):
            return pdf_response(_scoped(app_id))

    class ApprovedView(_ListView):
        status = S.APPROVED

    class RejectedView(_ListView):
        status = S.REJECTED

    for cls, name, endpoint in [(PendingView, "待审批业务", "gov_pending"),
                                (ApprovedView, "已批准业务", "gov_approved"),
                                (RejectedView, "不予批准业务", "gov_rejected")]:
        admin.add_view(cls(name=name, category="业务审批", endpoint=endpoint,
                           url=f"/gov/{endpoint[4:].replace('_', '-')}"))
