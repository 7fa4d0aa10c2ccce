"""A reviewer's process dying in the middle of an approval (after every effect is flushed to
the database, before COMMIT) leaves the application pending and nothing half-applied; a
normal approval afterwards succeeds. The approval runs in a separate process on the same
database (SQLite in WAL mode, or PostgreSQL with TEST_DATABASE_URL) and is SIGKILLed."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from models import db
from models.application import Application, ApplicationEvent
from models.enums import ApplicationStatus as S, ApplicationType as T, RegistrationStatus as R
from models.messaging import OutboxMessage
from models.registry import Registration
from services import applications as svc
from tests import factories_applications as fa
from tests.conftest import ROOT, make_test_config

# The child: same configuration (same database) as this worker's app; approve, and when the
# session is about to COMMIT (effects flushed), report what the transaction holds and hang.
CHILD = r"""
import json, sys, time
import sqlalchemy as sa
cfg_file, marker, app_id, authority_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cfg = json.loads(open(cfg_file, encoding="utf-8").read())
cfg["DATA_KEY"] = bytes.fromhex(cfg["DATA_KEY"])
from app import create_app
from models import db
from models.application import Application
from models.registry import Registration
from models.enums import UserKind
from services import Actor
from services import applications as svc

app = create_app(cfg)
with app.app_context():
    session = db.session()

    @sa.event.listens_for(session, "before_commit")
    def hang(sess):
        sess.flush()
        status = sess.execute(sa.select(Application.status)
                              .where(Application.id == app_id)).scalar_one()
        regs = sess.execute(sa.select(sa.func.count()).select_from(Registration)).scalar_one()
        with open(marker + ".tmp", "w", encoding="utf-8") as fh:
            json.dump({"status": status.value, "registrations": regs}, fh)
        import os
        os.replace(marker + ".tmp", marker)
        time.sleep(60)

    svc.approve_application(Actor(UserKind.CONSOLE, None, "审批人员", authority_id=authority_id),
                            app_id, "同意")
"""


def _pending_change(w):
    a = svc.submit_application(fa.physician_actor(w.account), w.account, T.CHANGE,
                               {"registration_id": w.reg.id,
                                "institution_id": w.other_prov_inst.id, "scope_codes": ["11"]})
    svc.confirm_application(fa.org_actor(w.other_prov_inst), a.id, True)
    return a.id


def _snapshot(app_id, person_id):
    db.session.expire_all()
    a = db.session.get(Application, app_id)
    count = lambda q: db.session.scalar(q)  # noqa: E731
    snap = {
        "status": a.status, "version": a.version,
        "registrations": count(sa.select(sa.func.count()).select_from(Registration)),
        "valid": count(sa.select(sa.func.count()).select_from(Registration).where(
            Registration.person_id == person_id, Registration.status == R.VALID)),
        "approve_events": count(sa.select(sa.func.count()).select_from(ApplicationEvent).where(
            ApplicationEvent.application_id == app_id, ApplicationEvent.to_status == S.APPROVED)),
        "approve_messages": count(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.body.like("%已批准%"))),
    }
    db.session.commit()
    return snap


def _kill_mid_approval(tmp_path, app_id, authority_id):
    cfg = dict(make_test_config())  # this worker's cached config: the same database
    cfg["DATA_KEY"] = cfg["DATA_KEY"].hex()
    cfg_file = tmp_path / "config.json"
    cfg_file.write_text(json.dumps(cfg), encoding="utf-8")
    marker = tmp_path / "before_commit.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(cfg_file), str(marker), str(app_id), str(authority_id)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if child.poll() is not None:
                out, err = child.communicate()
                raise AssertionError(f"child ended early ({child.returncode}): {err.decode()}")
            assert time.monotonic() < deadline, "child never reached COMMIT"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    assert child.returncode == -signal.SIGKILL
    return json.loads(Path(marker).read_text(encoding="utf-8"))


def test_killed_before_commit_leaves_application_pending(app, make, tmp_path, outbox):
    w = fa.world()
    app_id = _pending_change(w)
    person_id, authority_id = w.person.id, w.beijing.id
    before = _snapshot(app_id, person_id)
    assert before["status"] == S.PENDING_APPROVAL
    db.session.remove()  # no open transaction of ours while the child writes

    seen = _kill_mid_approval(tmp_path, app_id, authority_id)
    # inside the child's transaction the approval had happened (effects flushed) …
    assert seen["status"] == S.APPROVED.value
    assert seen["registrations"] == before["registrations"] + 1
    # … and none of it survived the crash
    assert _snapshot(app_id, person_id) == before
    assert not any("已批准" in m["body"] for m in outbox.messages())

    # a normal approval afterwards goes through
    svc.approve_application(fa.gov_actor(db.session.merge(w.beijing)), app_id, "同意")
    after = _snapshot(app_id, person_id)
    assert after["status"] == S.APPROVED and after["version"] > before["version"]
    assert after["registrations"] == before["registrations"] + 1
    assert after["approve_events"] == 1 and after["valid"] == 1
