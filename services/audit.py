"""The append-only audit log: one row per state change, login, denial and identity reveal."""
import sqlalchemy as sa

from models import db
from models.audit import AuditLog

from . import Actor


def record(actor: Actor | None, action: str, obj=None, *, before=None, after=None,
           detail: str = "", institution_id=None, authority_id=None) -> AuditLog:
    """Add an audit row to the current transaction (committed with the change it records)."""
    row = AuditLog(
        actor_kind=actor.kind if actor else None,
        actor_id=actor.id if actor else None,
        actor_name=(actor.name if actor else "")[:128],
        ip=(actor.ip if actor else "")[:64],
        action=action,
        object_type=type(obj).__tablename__ if obj is not None and hasattr(obj, "__tablename__") else "",
        object_id=str(getattr(obj, "id", "") or getattr(obj, "code", "") or "") if obj is not None else "",
        institution_id=institution_id if institution_id is not None
        else (actor.institution_id if actor else None),
        authority_id=authority_id if authority_id is not None
        else (actor.authority_id if actor else None),
        before=before, after=after, detail=detail[:512],
    )
    db.session.add(row)
    return row


class AuditLogImmutable(RuntimeError):
    """Raised when application code tries to change or delete an audit row."""


def _refuse_change(mapper, connection, target):  # noqa: ARG001 — SQLAlchemy event signature
    raise AuditLogImmutable("审计日志只能追加，不能修改或删除。")


# Append-only guard: any ORM UPDATE/DELETE of an AuditLog row fails before SQL is emitted.
if not sa.event.contains(AuditLog, "before_update", _refuse_change):
    sa.event.listen(AuditLog, "before_update", _refuse_change)
    sa.event.listen(AuditLog, "before_delete", _refuse_change)
