"""services/review.py: guarded approval/rejection of change requests and photos."""
import threading

import pytest
import sqlalchemy as sa

from models import db
from models.account import ChangeRequest, Photo
from models.audit import AuditLog
from models.enums import ReviewStatus, UserKind
from models.messaging import OutboxMessage
from models.registry import Registration
from services import Actor, DomainError
from services.review import ALREADY_REVIEWED, review_change_request, review_photo
from tests import factories_org as fo


def _actor(inst):
    return Actor(UserKind.CONSOLE, None, "审核员", "127.0.0.1", institution_id=inst.id)


def test_approval_writes_the_overlay_and_notifies(make):
    inst = make.institution()
    _, reg, acct = fo.activated_physician(inst)
    cr = fo.change_request(acct, reg, major="麻醉学")
    review_change_request(_actor(inst), cr, True)
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert (reg.education_code, reg.school, reg.title_code, reg.major) == \
        ("14", "北京大学医学部", "232", "麻醉学")
    assert reg.info_modified_on is not None
    cr = db.session.get(ChangeRequest, cr.id)
    assert cr.status == ReviewStatus.APPROVED and cr.reviewed_at is not None
    body = db.session.scalar(sa.select(OutboxMessage.body).where(OutboxMessage.to == acct.phone))
    assert "审核通过" in body and "我修改的内容" in body
    assert db.session.scalar(sa.select(AuditLog.before).where(
        AuditLog.action == "change_request_approved")) == {
            "education_code": None, "school": None, "title_code": None, "major": None}


def test_rejection_needs_a_reason_and_changes_nothing(make):
    inst = make.institution()
    _, reg, acct = fo.activated_physician(inst)
    cr = fo.change_request(acct, reg)
    with pytest.raises(DomainError) as err:
        review_change_request(_actor(inst), cr, False, "  ")
    assert err.value.field == "reason"
    review_change_request(_actor(inst), cr, False, "学历证明不清晰")
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).education_code is None
    cr = db.session.get(ChangeRequest, cr.id)
    assert cr.status == ReviewStatus.REJECTED and cr.review_reason == "学历证明不清晰"
    with pytest.raises(DomainError) as err:  # reviewed once only
        review_change_request(_actor(inst), cr, True)
    assert err.value.message == ALREADY_REVIEWED


def test_photo_approval_sets_the_registration_photo(make):
    inst, other = make.institution(), make.institution()
    _, reg, acct = fo.activated_physician(inst)
    ph = fo.photo(acct, inst)
    with pytest.raises(DomainError):
        review_photo(_actor(other), ph, True)
    review_photo(_actor(inst), ph, True)
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).photo_id == ph.id
    assert db.session.get(Photo, ph.id).status == ReviewStatus.APPROVED


def test_two_reviewers_at_once_exactly_one_wins(app, make):
    inst = make.institution()
    _, reg, acct = fo.activated_physician(inst)
    cr_id = fo.change_request(acct, reg).id
    inst_id = inst.id
    results, barrier = [], threading.Barrier(2)

    def worker(approve):
        with app.app_context():
            cr = db.session.get(ChangeRequest, cr_id)
            actor = Actor(UserKind.CONSOLE, None, "审核员", "", institution_id=inst_id)
            barrier.wait()
            try:
                review_change_request(actor, cr, approve, None if approve else "不符合要求")
                results.append("ok")
            except DomainError as exc:
                results.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(flag,)) for flag in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == sorted(["ok", ALREADY_REVIEWED])
    db.session.expire_all()
    final = db.session.get(ChangeRequest, cr_id).status
    reg = db.session.get(Registration, reg.id)
    assert (final == ReviewStatus.APPROVED) == (reg.education_code == "14")
