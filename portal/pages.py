"""P7 my records: the 基本信息 home, 资格信息, 执业信息 and 考核信息."""
import sqlalchemy as sa
from flask import g, render_template, request
from sqlalchemy.orm import joinedload

from models import db
from models.enums import RegistrationStatus
from models.loading import collection_load
from models.registry import Assessment, Filing, LegacySite, Qualification, Registration
from services import audit
from services.profile import current_values, reference_label, reference_labels
from web.auth import current_actor

from . import bp
from .common import activated_required


def _shown():
    """What the pages show of each registration, loaded with it (not a statement per
    place)."""
    return (joinedload(Registration.location), joinedload(Registration.institution),
            joinedload(Registration.authority), collection_load(Registration.scopes))


def _registrations(person_id, *extra_options):
    regs = list(db.session.scalars(sa.select(Registration).where(
        Registration.person_id == person_id).options(*_shown(), *extra_options)
        .order_by(Registration.approved_on.desc(), Registration.id.desc())).unique())
    regs.sort(key=lambda r: r.status != RegistrationStatus.VALID)
    return regs


def _qualifications(person_id):
    return list(db.session.scalars(sa.select(Qualification).where(
        Qualification.person_id == person_id).order_by(Qualification.year)))


@bp.route("/")
@activated_required
def home():
    acct = g.account
    person = acct.person
    regs = _registrations(person.id) if person else []
    quals = _qualifications(person.id) if person else []
    main = next((r for r in regs if r.status == RegistrationStatus.VALID), None)
    if main is not None:
        values = current_values(main)
    elif quals:
        q = quals[-1]
        values = {"education_code": q.education_code, "school": q.school, "title_code": None,
                  "major": q.major}
    else:
        values = {"education_code": None, "school": "", "title_code": None, "major": ""}
    show_id = request.args.get("show_id") == "1" and person is not None
    id_text = person.id_number_masked if person else acct.id_number_masked
    if show_id:
        id_text = person.id_number
        audit.record(current_actor(), "reveal_id_number", person, detail="本人查看基本信息")
        db.session.commit()
    labels = reference_labels(ethnic=person.ethnicity_code if person else None,
                              education=values["education_code"], title=values["title_code"])
    return render_template(
        "portal/home.html", account=acct, person=person, regs=regs, id_text=id_text,
        show_id=show_id, ethnic=labels["ethnic"], education=labels["education"],
        title=labels["title"], values=values)


@bp.route("/qualification")
@activated_required
def qualification():
    acct = g.account
    quals = _qualifications(acct.person_id) if acct.person_id else []
    return render_template("portal/qualification.html", quals=quals,
                           education=lambda c: reference_label("education", c))


@bp.route("/practice")
@activated_required
def practice():
    acct = g.account
    regs = _registrations(
        acct.person_id, joinedload(Registration.department),
        collection_load(Registration.filings).options(joinedload(Filing.institution),
                                                      joinedload(Filing.authority)),
        collection_load(Registration.legacy_sites).options(
            joinedload(LegacySite.institution), joinedload(LegacySite.authority)),
    ) if acct.person_id else []
    return render_template("portal/practice.html", regs=regs,
                           certificate_no=acct.person.certificate_no if acct.person else "")


@bp.route("/assessment")
@activated_required
def assessment():
    acct = g.account
    rows = list(db.session.scalars(sa.select(Assessment).where(
        Assessment.person_id == acct.person_id).order_by(Assessment.period_start.desc()))) \
        if acct.person_id else []
    return render_template("portal/assessment.html", rows=rows)
