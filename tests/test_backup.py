"""`flask backup PATH` / `flask restore PATH --yes` round trip on the worker's database
(SQLite online backup API, or pg_dump/pg_restore on PostgreSQL)."""
import sqlalchemy as sa

from models import db
from models.account import PhysicianAccount
from models.audit import AuditLog
from models.institution import Institution
from models.registry import Person


def _counts():
    return {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (Institution, Person, PhysicianAccount, AuditLog)}


def test_backup_and_restore_round_trip(app, tmp_path):
    from tests import factories as make
    runner = app.test_cli_runner()
    with app.app_context():
        inst = make.institution(name="备份测试医院")
        p, reg = make.registered_physician(inst)
        acct = make.physician_account(p, username="backup0001", institution_obj=inst)
        id_no = p.id_number
        db.session.add(AuditLog(action="backup_test", detail="恢复前的记录"))
        db.session.commit()
        before = _counts()
        ids = (inst.id, p.id, acct.id)
        db.session.remove()

    target = tmp_path / "registry.backup"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "已备份到" in result.output and target.stat().st_size > 0
    # an existing backup is not overwritten by accident
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code != 0 and "--yes" in result.output

    # change and delete rows after the backup
    with app.app_context():
        db.session.get(Institution, ids[0]).name = "改名后的医院"
        db.session.delete(db.session.get(PhysicianAccount, ids[2]))
        make.institution(name="备份之后新建的医院")
        db.session.commit()
        assert db.session.get(PhysicianAccount, ids[2]) is None
        db.session.remove()

    # without --yes nothing is restored
    result = runner.invoke(args=["restore", str(target)])
    assert result.exit_code != 0 and "--yes" in result.output
    with app.app_context():
        assert db.session.get(PhysicianAccount, ids[2]) is None
        db.session.remove()

    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _counts() == before
        assert db.session.get(Institution, ids[0]).name == "备份测试医院"
        back = db.session.get(PhysicianAccount, ids[2])
        assert back is not None and back.username == "backup0001"
        assert back.id_number == id_no  # still decrypts with the key outside the database
        assert db.session.scalar(sa.select(Institution).where(
            Institution.name == "备份之后新建的医院")) is None
        assert db.session.scalar(sa.select(AuditLog.detail).where(
            AuditLog.action == "backup_test")) == "恢复前的记录"
        db.session.remove()
    # the application keeps working on the restored database
    client = app.test_client()
    assert client.get("/healthz").status_code == 200


def test_restore_refuses_a_file_that_is_not_a_backup(app, tmp_path):
    bogus = tmp_path / "not-a-backup.bin"
    bogus.write_bytes(b"hello, this is not a database")
    result = app.test_cli_runner().invoke(args=["restore", str(bogus), "--yes"])
    assert result.exit_code != 0 and "备份文件" in result.output
    with app.app_context():
        # the database is untouched and usable
        assert db.session.scalar(sa.text("SELECT count(*) FROM region")) > 0
        db.session.remove()
