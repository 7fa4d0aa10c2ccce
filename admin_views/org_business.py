"""/org/ 业务办理: the institution's side of the business applications (I10–I14).

Every query is scoped to this institution (Application.confirming_institution_id or
applicant_institution_id == current_user.institution_id); another institution's id → 404."""
import datetime as dt

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from sqlalchemy.orm import joinedload, selectinload

from models import db
from models.application import Application
from models.enums import ApplicationStatus as S, ApplicationType as T, RegistrationStatus
from models.identity import id_blind_index
from models.institution import Institution
from models.loading import page_rows_select
from models.registry import Person, Registration
from services import DomainError, audit
from services import applications as svc
from web.auth import current_actor

from .base import BaseView, ConsoleAccessMixin, expose, tenant_institution_id

LIMIT = 200


def parse_date(value):
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def search_filter(q, args):
    """姓名 / 身份证号 / 时间段 on an Application query (joined to Person)."""
    name = (args.get("name") or "").strip()
    id_no = (args.get("id_number") or "").strip()
    start, end = parse_date(args.get("date_from")), parse_date(args.get("date_to"))
    if name or id_no:
        q = q.join(Person, Person.id == Application.person_id)
        if name:
            q = q.where(Person.name == name)
        if id_no:
            q = q.where(Person.id_number_hash == id_blind_index(id_no))
    if start:
        q = q.where(Application.submitted_at >= dt.datetime.combine(start, dt.time.min))
    if end:
        q = q.where(Application.submitted_at < dt.datetime.combine(end + dt.timedelta(days=1),
                                                                   dt.time.min))
    return q


PAGE_SIZE = 50
PICK_LIMIT = 50


class RowsPage(list):
    """One page of a business list, newest first, with the query's total and the links to
    the older rows (keyset: `before=<id of the page's last row>`) and back to the newest."""
    total = 0
    older_url = None
    newest_url = None
    note = ""


def _page(q, *order, limit: int):
    """The applications of one page, with their person, institutions and 审批机关 (many-to-one,
    one row each) in the same statement. The page's ids are chosen first, from the list's
    index alone, and only those rows are joined: joining before the LIMIT joined every
    application of the list's history before sorting it (a city commission's 958 approved:
    8 ms on PostgreSQL, growing without end)."""
    return db.session.scalars(page_rows_select(
        q.order_by(*order).limit(limit), Application,
        joinedload(Application.person), joinedload(Application.confirming_institution),
        joinedload(Application.applicant_institution), joinedload(Application.authority)))


def _count(q) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(q.order_by(None).subquery()))


def load_rows(q) -> RowsPage:
    """A page of PAGE_SIZE applications, newest first; the history lists grow without end,
    so the next page is read by key (`id < before`), never by OFFSET."""
    value = request.args.get("before", "")
    before = int(value) if value.isdigit() and len(value) <= 18 else None
    paged = q if before is None else q.where(Application.id < before)
    rows = list(_page(paged, Application.id.desc(), limit=PAGE_SIZE + 1))
    page = RowsPage(rows[:PAGE_SIZE])
    page.total = _count(q)
    args = {k: v for k, v in request.args.items() if k != "before"}
    if len(rows) > PAGE_SIZE:
        page.older_url = url_for(request.endpoint, **(request.view_args or {}), **args,
                                 before=page[-1].id)
    if before is not None:
        page.newest_url = url_for(request.endpoint, **(request.view_args or {}), **args)
    return page


def load_queue(q, order) -> RowsPage:
    """An approval queue in its working order (oldest acceptance first), the first LIMIT rows;
    beyond that the reviewer narrows it with the search form."""
    page = RowsPage(_page(q, *order, limit=LIMIT))
    page.total = _count(q)
    if page.total > LIMIT:
        page.note = f"仅显示最早受理的{LIMIT}条，请用姓名、身份证号或时间段缩小查询范围。"
    return page


def record_context(app: Application, reveal: bool = False) -> dict:
    """医师的执业信息 + 业务申请内容. With `reveal`, the full 身份证号 of the applicant is shown
    (a viewer entitled to the application) and the view is audited."""
    id_number = None
    if reveal and app.person is not None:
        id_number = app.person.id_number
        audit.record(current_actor(), "reveal_id_number", app.person,
                     detail=f"业务申请{app.id}")
        db.session.commit()
    reg = svc.record_registration(app)
    qual = reg.qualification if reg else (app.person.qualifications[-1]
                                          if app.person and app.person.qualifications else None)
    return {"app": app, "reg": reg, "qual": qual, "lines": svc.content_lines(app),
            "events": app.events, "id_number": id_number}


def _scoped_app(app_id: int, *, confirming_only=False) -> Application:
    iid = tenant_institution_id()
    cond = Application.confirming_institution_id == iid
    if not confirming_only:
        cond = sa.or_(cond, Application.applicant_institution_id == iid)
    app = db.session.scalar(sa.select(Application).where(Application.id == app_id, cond))
    if app is None:
        abort(404)
    return app


def pdf_response(app: Application):
    from flask import make_response
    from services.printing import application_pdf
    data = application_pdf(app)
    resp = make_response(data)
    resp.headers["Content-Type"] = "application/pdf"
    resp.headers["Content-Disposition"] = f"inline; filename=application-{app.id}.pdf"
    return resp


def register(admin):
    from .org import OrgMixin

    class ApplicationsView(OrgMixin, ConsoleAccessMixin, BaseView):
        """医师申请业务办理: applications waiting for this institution's confirmation."""

        @expose("/")
        def index(self):
            iid = tenant_institution_id()
            q = sa.select(Application).where(Application.confirming_institution_id == iid,
                                             Application.status == S.SUBMITTED)
            rows = load_rows(search_filter(q, request.args))
            return self.render("admin/business/org_applications.html", rows=rows,
                               args=request.args, title="医师申请业务办理")

        @expose("/<int:app_id>")
        def detail(self, app_id):
            app = _scoped_app(app_id)
            return self.render("admin/business/org_detail.html",
                               **record_context(app, reveal=True))

        @expose("/<int:app_id>/decide", methods=["POST"])
        def decide(self, app_id):
            app = _scoped_app(app_id, confirming_only=True)
            action = request.form.get("action")
            opinion = request.form.get("opinion", "")
            try:
                if action not in ("agree", "disagree"):
                    raise DomainError("请选择同意或不同意。")
                svc.confirm_application(current_actor(), app.id, action == "agree", opinion)
            except DomainError as e:
                db.session.rollback()
                flash(e.message, "error")
                return redirect(url_for(".detail", app_id=app_id))
            flash("已同意，并已提交审批机关审批。" if action == "agree" else "已办理：机构不同意。",
                  "success")
            return redirect(url_for(".index"))

        @expose("/<int:app_id>/print")
        def print_form(self, app_id):
            return pdf_response(_scoped_app(app_id))

    class OpenView(OrgMixin, ConsoleAccessMixin, BaseView):
        """医师正在申办的业务列表: confirmed, waiting for the authority (撤销办理)."""

        @expose("/")
        def index(self):
            iid = tenant_institution_id()
            q = sa.select(Application).where(Application.confirming_institution_id == iid,
                                             Application.status == S.PENDING_APPROVAL)
            rows = load_rows(search_filter(q, request.args))
            return self.render("admin/business/org_open.html", rows=rows, args=request.args)

        @expose("/<int:app_id>/retract", methods=["POST"])
        def retract(self, app_id):
            app = _scoped_app(app_id, confirming_only=True)
            try:
                svc.retract_confirmation(current_actor(), app.id)
            except DomainError as e:
                db.session.rollback()
                flash(e.message, "error")
            else:
                flash("已撤销办理。", "success")
            return redirect(url_for(".index"))

    class DoneView(OrgMixin, ConsoleAccessMixin, BaseView):
        """已完成审批业务列表."""

        @expose("/")
        def index(self):
            iid = tenant_institution_id()
            q = sa.select(Application).where(
                sa.or_(Application.confirming_institution_id == iid,
                       Application.applicant_institution_id == iid),
                Application.status.in_([S.APPROVED, S.REJECTED, S.INSTITUTION_REJECTED]))
            rows = load_rows(search_filter(q, request.args))
            return self.render("admin/business/org_done.html", rows=rows, args=request.args)

    class RenameView(OrgMixin, ConsoleAccessMixin, BaseView):
        """机构更名变更 (B11)."""

        @expose("/", methods=["GET", "POST"])
        def index(self):
            inst = db.session.scalar(sa.select(Institution).where(
                Institution.id == tenant_institution_id()))  # this console's own institution
            error = None
            if request.method == "POST":
                try:
                    svc.submit_application(current_actor(), inst, T.INSTITUTION_RENAME,
                                           {"new_name": request.form.get("new_name", ""),
                                            "reason": request.form.get("reason", "")})
                except DomainError as e:
                    db.session.rollback()
                    error = e.message
                else:
                    flash("机构更名申请已提交审批机关。", "success")
                    return redirect(url_for("org_filing_cancel_list.index"))
            return self.render("admin/business/org_rename.html", inst=inst, error=error,
                               form=request.form)

    class _PhysicianPick(OrgMixin, ConsoleAccessMixin, BaseView):
        """申请备案 / 申请注销: this institution's valid registrations, then a reason."""
        app_type = None
        button = ""
        template = "admin/business/org_pick.html"

        def reasons(self):
            raise NotImplementedError

        def _regs(self, name):
            """The newest PICK_LIMIT of this institution's valid registrations (by name
            prefix when one is given), read in id order from the (institution, status, id)
            index — sorting thousands of physicians by name on every visit would read every
            person row — and the total, so the page can say to search by name."""
            q = sa.select(Registration).where(
                Registration.institution_id == tenant_institution_id(),
                Registration.status == RegistrationStatus.VALID)
            if name:
                named = sa.orm.aliased(Person)
                q = q.where(sa.exists().where(named.id == Registration.person_id,
                                              named.name.startswith(name, autoescape=True)))
            page = RowsPage(db.session.scalars(
                q.options(selectinload(Registration.person))
                .order_by(Registration.id.desc()).limit(PICK_LIMIT)))
            page.total = _count(q)
            if page.total > PICK_LIMIT:
                page.note = f"仅显示最近注册的{PICK_LIMIT}名医师，请输入姓名查询。"
            return page

        @expose("/")
        def index(self):
            name = (request.args.get("name") or "").strip()
            rows = self._regs(name)
            return self.render(self.template, rows=rows, name=name, button=self.button,
                               reg=None, reasons=self.reasons(), error=None)

        @expose("/<int:reg_id>", methods=["GET", "POST"])
        def apply(self, reg_id):
            reg = db.session.scalar(sa.select(Registration).where(
                Registration.id == reg_id,
                Registration.institution_id == tenant_institution_id()))
            if reg is None:
                abort(404)
            error = None
            if request.method == "POST":
                inst = db.session.scalar(sa.select(Institution).where(
                Institution.id == tenant_institution_id()))  # this console's own institution
                try:
                    svc.submit_application(current_actor(), inst, self.app_type,
                                           {"registration_id": reg.id,
                                            "reason_code": request.form.get("reason_code", ""),
                                            "reason": request.form.get("reason", "")})
                except DomainError as e:
                    db.session.rollback()
                    error = e.message
                else:
                    flash(f"已为{reg.person.name}提交{self.button}申请，等待审批机关审批。", "success")
                    return redirect(url_for("org_filing_cancel_list.index"))
            return self.render(self.template, rows=[], name="", button=self.button, reg=reg,
                               reasons=self.reasons(), error=error)

    class ApplyFilingView(_PhysicianPick):
        app_type = T.REGISTRATION_FILING
        button = "注册备案"

        def reasons(self):
            return svc.filing_reasons()

    class ApplyCancelView(_PhysicianPick):
        app_type = T.CANCELLATION
        button = "申请注销"

        def reasons(self):
            return svc.cancel_reasons(for_institution=True)

    class FilingCancelListView(OrgMixin, ConsoleAccessMixin, BaseView):
        """备案注销申请情况列表: this institution's own applications (I11–I13)."""

        @expose("/")
        def index(self):
            iid = tenant_institution_id()
            q = sa.select(Application).where(Application.applicant_institution_id == iid)
            return self.render("admin/business/org_own.html", rows=load_rows(q))

    cat = "业务办理"
    for cls, name, endpoint in [
            (ApplicationsView, "医师申请业务办理", "org_applications"),
            (OpenView, "医师正在申办的业务列表", "org_applications_open"),
            (DoneView, "已完成审批业务列表", "org_applications_done"),
            (RenameView, "机构更名变更", "org_rename"),
            (ApplyFilingView, "申请备案", "org_apply_filing"),
            (ApplyCancelView, "申请注销", "org_apply_cancel"),
            (FilingCancelListView, "备案注销申请情况列表", "org_filing_cancel_list")]:
        admin.add_view(cls(name=name, category=cat, endpoint=endpoint,
                           url=f"/org/{endpoint[4:].replace('_', '-')}"))


__all__ = ["register", "record_context", "search_filter", "pdf_response", "load_rows"]
