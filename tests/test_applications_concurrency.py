"""Two reviewers deciding the same application at once: exactly one decision stands.
Real concurrent connections (threads with their own app context and session), on SQLite
and on PostgreSQL (TEST_DATABASE_URL)."""
import threading

import sqlalchemy as sa

from models import db
from models.application import Application, ApplicationEvent
from models.enums import ApplicationStatus as S, ApplicationType as T, RegistrationStatus as R
from models.registry import Registration
from services import DomainError
from services import applications as svc
from tests import factories_applications as fa


def _race(app, *calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, fn):
        with app.app_context():
            try:
                barrier.wait()
                fn()
                results[i] = "ok"
            except DomainError as e:
                results[i] = e.message
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _pending_change(w):
    a = svc.submit_application(fa.physician_actor(w.account), w.account, T.CHANGE,
                               {"registration_id": w.reg.id,
                                "institution_id": w.other_prov_inst.id, "scope_codes": ["11"]})
    svc.confirm_application(fa.org_actor(w.other_prov_inst), a.id, True)
    return a.id


def test_two_reviewers_approve_and_reject_at_once(app, make):
    w = fa.world()
    app_id = _pending_change(w)
    gov = fa.gov_actor(w.beijing)
    for attempt in range(3):
        results = _race(app, lambda: svc.approve_application(gov, app_id),
                        lambda: svc.reject_application(gov, app_id, "材料不全"))
        assert sorted(results, key=str) == sorted(["ok", svc.CONFLICT], key=str), results
        break
    db.session.expire_all()
    final = db.session.get(Application, app_id)
    assert final.status in (S.APPROVED, S.REJECTED)
    decisions = db.session.scalar(sa.select(sa.func.count()).select_from(ApplicationEvent).where(
        ApplicationEvent.application_id == app_id,
        ApplicationEvent.to_status.in_([S.APPROVED, S.REJECTED])))
    assert decisions == 1
    valid_new = db.session.scalar(sa.select(sa.func.count()).select_from(Registration).where(
        Registration.person_id == w.person.id, Registration.status == R.VALID))
    assert valid_new == 1


def test_two_reviewers_approve_at_once_create_one_registration(app, make):
    w = fa.world()
    app_id = _pending_change(w)
    gov = fa.gov_actor(w.beijing)
    results = _race(app, lambda: svc.approve_application(gov, app_id),
                    lambda: svc.approve_application(gov, app_id))
    assert sorted(results) == sorted(["ok", svc.CONFLICT]), results
    db.session.expire_all()
    regs = db.session.scalars(sa.select(Registration).where(
        Registration.person_id == w.person.id).order_by(Registration.id)).all()
    assert [r.status for r in regs] == [R.TRANSFERRED_OUT, R.VALID]


def test_double_submission_creates_one_application(app, make):
    w = fa.world()
    actor = fa.physician_actor(w.account)
    acct_id, reg_id = w.account.id, w.reg.id

    def submit():
        from models.account import PhysicianAccount
        acct = db.session.get(PhysicianAccount, acct_id)
        svc.submit_application(actor, acct, T.CERTIFICATE_REISSUE,
                               {"registration_id": reg_id, "reissue_reason": "遗失"})

    results = _race(app, submit, submit)
    assert results.count("ok") == 1, results
    assert any("请勿重复提交" in r for r in results if r != "ok")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 1
