"""P9 信息维护, P10 相片, P11 我的科室."""
from flask import abort, flash, g, make_response, redirect, render_template, request, url_for

from forms.portal import ChangeRequestForm, DepartmentForm, PhotoForm
from services import DomainError
from services import profile
from services.accounts import primary_registration
from web.auth import current_actor

from . import bp
from .common import activated_required, place_errors


def _base_ctx(tab="info"):
    acct = g.account
    reg = primary_registration(acct)
    values = profile.current_values(reg) if reg else None
    return {"account": acct, "reg": reg, "values": values, "tab": tab,
            "education": profile.reference_label("education",
                                                 values["education_code"]) if values else "",
            "title": profile.reference_label("title", values["title_code"]) if values else ""}


@bp.route("/maintenance/")
@activated_required
def maintenance():
    return render_template("portal/maintenance.html", **_base_ctx())


@bp.route("/maintenance/edit", methods=["GET", "POST"])
@activated_required
def maintenance_edit():
    ctx = _base_ctx()
    if ctx["reg"] is None:
        flash("您目前没有有效的执业注册，无法修改执业注册信息。", "warning")
        return redirect(url_for("portal.maintenance"))
    form = ChangeRequestForm()
    form.education_code.choices = [("", "（不修改）")] + profile.education_choices()
    form.title_code.choices = [("", "（不修改）")] + profile.title_choices()
    if request.method == "GET":
        v = ctx["values"]
        form.education_code.data = v["education_code"] or ""
        form.title_code.data = v["title_code"] or ""
        form.school.data = v["school"]
        form.major.data = v["major"]
    error = None
    if form.validate_on_submit():
        try:
            profile.request_change(current_actor(), g.account,
                                   education_code=form.education_code.data,
                                   school=form.school.data, title_code=form.title_code.data,
                                   major=form.major.data)
        except DomainError as exc:
            error = place_errors(form, exc)
        else:
            flash("修改申请已提交，需您执业所在医疗机构审核通过后生效。", "success")
            return redirect(url_for("portal.my_changes"))
    return render_template("portal/maintenance_edit.html", form=form, error=error, **ctx)


@bp.route("/maintenance/changes")
@activated_required
def my_changes():
    rows = profile.change_requests_of(g.account)
    return render_template("portal/my_changes.html", rows=rows, label=profile.reference_label,
                           labels=profile.FIELD_LABELS, **_base_ctx())


@bp.route("/maintenance/changes/<int:request_id>")
@activated_required
def my_change(request_id):
    row = profile.own_change_request(g.account, request_id)
    if row is None:
        abort(404)
    return render_template("portal/my_change.html", row=row, label=profile.reference_label,
                           labels=profile.FIELD_LABELS, **_base_ctx())


@bp.route("/maintenance/photo", methods=["GET", "POST"])
@activated_required
def photo_upload():
    ctx = _base_ctx()
    form = PhotoForm()
    error = None
    if form.validate_on_submit():
        f = form.photo.data
        if not f or not getattr(f, "filename", ""):
            form.photo.errors = ["请选择要上传的相片。"]
        else:
            data = f.read(profile.PHOTO_MAX_BYTES + 1)
            try:
                profile.upload_photo(current_actor(), g.account, data, f.filename)
            except DomainError as exc:
                error = place_errors(form, exc)
            else:
                flash("相片上传成功，须等待您所在医疗机构审核。", "success")
                return redirect(url_for("portal.my_photos"))
    return render_template("portal/photo_upload.html", form=form, error=error, **ctx)


@bp.route("/maintenance/photos")
@activated_required
def my_photos():
    return render_template("portal/my_photos.html", rows=profile.photos_of(g.account),
                           current=profile.current_photo(g.account), **_base_ctx())


@bp.route("/maintenance/photos/<int:photo_id>.jpg")
@activated_required
def photo_file(photo_id):
    photo = profile.own_photo(g.account, photo_id)
    if photo is None:
        abort(404)
    resp = make_response(photo.data)
    resp.headers["Content-Type"] = photo.content_type
    resp.headers["Content-Disposition"] = "inline"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.route("/maintenance/department", methods=["GET", "POST"])
@activated_required
def my_department():
    ctx = _base_ctx(tab="department")
    deps = profile.departments_for(g.account)
    form = DepartmentForm()
    form.department_id.choices = [(str(d.id), d.name) for d in deps]
    if request.method == "GET" and ctx["reg"] is not None and ctx["reg"].department_id:
        form.department_id.data = str(ctx["reg"].department_id)
    error = None
    if form.validate_on_submit():
        try:
            profile.set_department(current_actor(), g.account, form.department_id.data)
        except DomainError as exc:
            error = place_errors(form, exc)
        else:
            flash("科室已保存。", "success")
            return redirect(url_for("portal.my_department"))
    return render_template("portal/my_department.html", form=form, error=error, deps=deps,
                           **ctx)
