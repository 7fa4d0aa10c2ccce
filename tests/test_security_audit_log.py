"""The audit log is append-only for the application: the ORM refuses to change or delete a
row, and the 审计日志 console view offers no create/edit/delete."""
import pytest
import sqlalchemy as sa

from admin_views.gov import AuditLogView
from models import db
from models.audit import AuditLog
from models.enums import ConsoleRole
from services import audit
from services.audit import AuditLogImmutable
from tests.helpers import csrf_token, text_of


def _row(detail="原始记录"):
    row = audit.record(None, "login", detail=detail)
    db.session.commit()
    return row.id


def _stored(row_id):
    return db.session.execute(
        sa.select(AuditLog.detail).where(AuditLog.id == row_id)).scalar_one_or_none()


def test_orm_update_of_audit_row_is_refused(db_session):
    row_id = _row()
    row = db.session.get(AuditLog, row_id)
    row.detail = "篡改"
    with pytest.raises(AuditLogImmutable):
        db.session.commit()
    db.session.rollback()
    assert _stored(row_id) == "原始记录"


def test_orm_delete_of_audit_row_is_refused(db_session):
    row_id = _row()
    db.session.delete(db.session.get(AuditLog, row_id))
    with pytest.raises(AuditLogImmutable):
        db.session.flush()
    db.session.rollback()
    assert _stored(row_id) == "原始记录"


def test_new_audit_rows_still_append(db_session):
    first, second = _row("一"), _row("二")
    assert second > first
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == 2


def test_audit_console_view_has_no_create_edit_delete(app, client, make, login_as):
    auditor = make.console_user(ConsoleRole.AUDITOR, authority_obj=make.authority())
    row_id = _row()
    login_as(auditor)

    listing = client.get("/gov/audit/")
    assert listing.status_code == 200
    page = text_of(listing)
    assert "/gov/audit/edit/" not in page and "/gov/audit/delete/" not in page
    assert "/gov/audit/new/" not in page
    assert (AuditLogView.can_create, AuditLogView.can_edit,
            AuditLogView.can_delete) == (False, False, False)

    edit = client.get(f"/gov/audit/edit/?id={row_id}")
    assert edit.status_code in (302, 403, 404)
    post_edit = client.post(f"/gov/audit/edit/?id={row_id}",
                            data={"detail": "篡改", "csrf_token": csrf_token(page)})
    assert post_edit.status_code in (302, 403, 404)
    delete = client.post("/gov/audit/delete/", data={"id": str(row_id),
                                                     "csrf_token": csrf_token(page)})
    assert delete.status_code in (302, 403, 404)
    created = client.post("/gov/audit/new/", data={"action": "login", "detail": "伪造",
                                                   "csrf_token": csrf_token(page)})
    assert created.status_code in (302, 403, 404)

    db.session.expire_all()
    assert _stored(row_id) == "原始记录"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                             .where(AuditLog.detail.in_(["篡改", "伪造"]))) == 0
