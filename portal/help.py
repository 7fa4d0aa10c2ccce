"""P13 帮助中心: 热点问题 (FAQ), 我要提问 and 我的提问."""
import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from forms.portal import QuestionForm
from models import db
from models.enums import FaqAudience, UserKind
from models.messaging import FaqEntry, Question
from services import DomainError, support
from services.accounts import primary_registration
from web.auth import current_actor, physician_required

from . import bp
from .common import me, place_errors


@bp.route("/help/")
def help_centre():
    entries = support.faq(FaqAudience.PHYSICIAN)
    groups = {}
    for e in entries:
        groups.setdefault(e.category or "其他", []).append(e)
    return render_template("portal/help.html", groups=groups)


@bp.route("/help/faq/<int:entry_id>")
def help_faq(entry_id):
    entry = db.session.scalar(sa.select(FaqEntry).where(
        FaqEntry.id == entry_id, FaqEntry.audience == FaqAudience.PHYSICIAN,
        FaqEntry.published.is_(True)))
    if entry is None:
        abort(404)
    return render_template("portal/help_faq.html", entry=entry)


@bp.route("/help/ask", methods=["GET", "POST"])
@physician_required
def help_ask():
    form = QuestionForm()
    error = None
    if form.validate_on_submit():
        reg = primary_registration(me())
        try:
            q = support.ask_question(current_actor(), form.title.data, form.body.data,
                                     reg.authority_id if reg else None)
        except DomainError as exc:
            error = place_errors(form, exc)
        else:
            flash("您的问题已提交，我们会尽快为您解答。", "success")
            return redirect(url_for("portal.help_question", question_id=q.id))
    return render_template("portal/help_ask.html", form=form, error=error)


def _own_question(question_id):
    q = db.session.get(Question, question_id)
    if (q is None or q.asker_kind != UserKind.PHYSICIAN or q.asker_id != current_user.id
            or q.hidden_by_asker):
        abort(404)
    return q


@bp.route("/help/questions")
@physician_required
def help_questions():
    rows = support.questions_of(UserKind.PHYSICIAN, current_user.id)
    return render_template("portal/help_questions.html", rows=rows)


@bp.route("/help/questions/<int:question_id>")
@physician_required
def help_question(question_id):
    return render_template("portal/help_question.html", q=_own_question(question_id))


@bp.route("/help/questions/<int:question_id>/delete", methods=["POST"])
@physician_required
def help_question_delete(question_id):
    q = _own_question(question_id)
    try:
        support.hide_question(current_actor(), q)
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash("问题已删除。", "success")
    return redirect(url_for("portal.help_questions"))
