"""Migrations build the schema the models describe (no pending autogenerate diff), and
upgrading keeps rows."""
import datetime as dt

import pytest
import sqlalchemy as sa

from tests.helpers import fresh_database_url


@pytest.fixture()
def migrated_app():
    from app import create_app
    from tests.conftest import make_test_config
    application = create_app(make_test_config(SQLALCHEMY_DATABASE_URI=fresh_database_url("mig")))
    yield application
    from models import db
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_upgrade_builds_exactly_the_models_schema(migrated_app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import upgrade

    from models import db
    with migrated_app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"


def _autovacuum_options(engine) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT relname, reloptions FROM pg_class WHERE relkind = 'r' AND relname = ANY(:t)"),
            {"t": ["registration", "person", "region"]}).all()
    return {name: sorted(o for o in (opts or []) if o.startswith(("autovacuum_", "vacuum_")))
            for name, opts in rows}


def test_big_tables_get_their_autovacuum_thresholds(migrated_app):
    """PostgreSQL: the national-size tables are vacuumed after 1 % of their rows changed,
    indexes included, whether built by the migrations or by create_all; a reference table
    keeps the defaults."""
    from flask_migrate import downgrade, upgrade

    from models import db
    expected = ["autovacuum_analyze_scale_factor=0.02",
                "autovacuum_vacuum_insert_scale_factor=0.01",
                "autovacuum_vacuum_scale_factor=0.01",
                "vacuum_index_cleanup=on"]
    with migrated_app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL storage parameters")
        upgrade()
        assert _autovacuum_options(db.engine) == {
            "registration": expected, "person": expected, "region": []}
        downgrade(revision="0bd30bc85652")
        assert _autovacuum_options(db.engine)["registration"] == expected[:3]
        downgrade(revision="cb7ba30d85cc")
        assert _autovacuum_options(db.engine)["registration"] == []
        downgrade(revision="base")
        db.create_all()
        assert _autovacuum_options(db.engine) == {
            "registration": expected, "person": expected, "region": []}
        db.drop_all()


def test_upgrade_then_reference_seed_and_downgrade_roundtrip(migrated_app):
    from flask_migrate import downgrade, upgrade

    from models import db
    from models.reference import Region
    from seed.reference import load_reference
    with migrated_app.app_context():
        upgrade()
        load_reference()
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Region))
        assert before > 3000
        upgrade()  # a second upgrade is a no-op and keeps every row
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == before
        db.session.remove()
        downgrade(revision="base")
        assert "region" not in sa.inspect(db.engine).get_table_names()


def _insert_shanxi_and_its_commission(conn):
    """山西省 / 太原市 / 小店区 and the provincial commission (id 1), as rows of the schema at
    the revision the test upgraded to."""
    conn.execute(sa.text(
        "INSERT INTO region (code, name, full_name, level, parent_code, "
        "electronic_registration) VALUES "
        "('140000', '山西省', '山西省', 'province', NULL, true), "
        "('140100', '太原市', '山西省太原市', 'city', '140000', true), "
        "('140105', '小店区', '山西省太原市小店区', 'county', '140100', true)"))
    conn.execute(sa.text(
        "INSERT INTO authority (id, name, level, region_code, is_tcm, active) "
        "VALUES (1, '山西省卫生健康委员会', 'province', '140000', false, true)"))


def test_upgrade_fills_registration_jurisdiction_from_the_institution(migrated_app):
    """A register made before the jurisdiction columns existed gets them from each
    registration's 主要执业机构 (140105 → 14 / 1401 / 140105) when upgraded, and each
    institution its province / city prefix."""
    from flask_migrate import upgrade

    from models import db
    with migrated_app.app_context():
        upgrade(revision="dce1cb3186fd")
        with db.engine.begin() as conn:
            _insert_shanxi_and_its_commission(conn)
            conn.execute(sa.text(
                "INSERT INTO institution (id, name, license_no, region_code, address, "
                "licensing_authority_id, responsible_person, reserved_phone, is_military, active,"
                " created_at) VALUES (1, '小店区医院', 'L1', '140105', '', 1, '', '', false, true,"
                " '2020-01-01'), (2, '山西省直属医院', 'L2', '140000', '', 1, '', '', false, true,"
                " '2020-01-01')"))
            conn.execute(sa.text(
                "INSERT INTO person (id, name, gender, birth_date, ethnicity_code, is_military, "
                "id_number_enc, id_number_hash, id_number_masked, created_at) VALUES "
                "(1, '张三', '1', '1980-01-01', '01', false, 'x', 'h1', '140105********0011',"
                " '2020-01-01')"))
            conn.execute(sa.text(
                "INSERT INTO qualification (id, person_id, code, level, category, year, school, "
                "major, issuing_authority, kind, created_at) VALUES "
                "(1, 1, 'Q1', '1', '1', 2000, '山西医科大学', '临床医学', '卫生部', 'new', "
                "'2020-01-01')"))
            conn.execute(sa.text(
                "INSERT INTO registration (id, person_id, qualification_id, level, category, "
                "location_code, institution_id, authority_id, approved_on, status, created_at) "
                "VALUES (1, 1, 1, '1', '1', '140000', 1, 1, '2020-01-01', 'valid', '2020-01-01'),"
                " (2, 1, 1, '1', '1', '140100', 2, 1, '2020-01-01', 'cancelled', '2020-01-01')"))
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT id, province_code, city_code, county_code, person_name, person_gender, "
                "person_birth_date FROM registration ORDER BY id")).all()
        # and (4574d257d9a9) the person's name as the lists' sort key, (0bd30bc85652) 性别 and
        # 出生日期 for the statistics
        born = dt.date(1980, 1, 1) if db.engine.dialect.name == "postgresql" else "1980-01-01"
        assert [tuple(r) for r in rows] == [(1, "14", "1401", "140105", "张三", "1", born),
                                            (2, "14", None, None, "张三", "1", born)]
        with db.engine.connect() as conn:
            insts = conn.execute(sa.text(
                "SELECT id, province_prefix, city_prefix FROM institution ORDER BY id")).all()
        assert [tuple(r) for r in insts] == [(1, "14", "1401"), (2, "14", None)]


def test_upgrade_fills_username_keys(migrated_app):
    """Accounts made before the username keys get their lower-cased 用户名, and a login in
    any case finds them."""
    from flask_migrate import upgrade

    from models import db
    with migrated_app.app_context():
        upgrade(revision="47cd3fcedee2")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO console_user (id, username, display_name, password_hash, role, "
                "phone, active, must_change_password, created_at, password_changed_at) VALUES "
                "(1, 'SxAdmin', '管理员', 'x', 'sysadmin', '13900000000', true, false, "
                "'2020-01-01', '2020-01-01')"))
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text(
                "SELECT username_key FROM console_user WHERE id = 1")).scalar() == "sxadmin"


def test_upgrade_puts_the_area_first_in_stored_blind_indexes_and_downgrade_restores_them(
        migrated_app):
    """Blind indexes stored as the whole HMAC become area code + its first 128 bits, equal to
    what the code computes now, so a lookup by 身份证号 still finds the person and the
    account; downgrading recomputes the whole HMAC from the ciphertext."""
    import hashlib
    import hmac

    from flask_migrate import downgrade, upgrade

    from models import db
    from models.account import PhysicianAccount
    from models.identity import _keys, encrypt_id_number, id_blind_index
    from models.registry import Person
    idn = "14010519850317003X"
    with migrated_app.app_context():
        _, idx_key = _keys()
        whole = hmac.new(idx_key, idn.encode(), hashlib.sha256).hexdigest()
        upgrade(revision="2a6c8e0f4b17")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO person (id, name, gender, birth_date, is_military, id_number_enc, "
                "id_number_hash, id_number_masked, created_at) VALUES (1, '张三', 'male', "
                "'1985-03-17', false, :enc, :h, '140105********003X', '2020-01-01')"),
                {"enc": encrypt_id_number(idn), "h": whole})
            conn.execute(sa.text(
                "INSERT INTO physician_account (id, username, name, phone, email, "
                "password_hash, state, person_id, id_number_enc, id_number_hash, "
                "id_number_masked, registered_at, password_changed_at) VALUES (1, 'zhangsan', "
                "'张三', '13900000000', 'a@example.com', 'x', 'activated', 1, :enc, :h, "
                "'140105********003X', '2020-01-01', '2020-01-01')"),
                {"enc": encrypt_id_number(idn), "h": whole})
        upgrade()
        assert db.session.scalar(sa.select(Person.id_number_hash)) == id_blind_index(idn)
        assert id_blind_index(idn) == "140105" + whole[:32]
        assert db.session.scalar(sa.select(Person.id).where(
            Person.id_number_hash == id_blind_index(idn))) == 1
        assert db.session.scalar(sa.select(PhysicianAccount.id).where(
            PhysicianAccount.id_number_hash == id_blind_index(idn))) == 1
        db.session.remove()
        downgrade(revision="2a6c8e0f4b17")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT id_number_hash FROM person")).scalar() == whole
            assert conn.execute(sa.text(
                "SELECT id_number_hash FROM physician_account")).scalar() == whole


def test_upgrade_fills_registration_moves_from_the_audit_log(migrated_app):
    """Moves approved before registration_move existed are found in the registration_change
    audit rows (before and after naming different institutions), so the old institution's
    医师变动信息 still lists them as 调离本院; a change in place, an audit row without a
    registration id and one naming a registration that is gone are no moves."""
    from flask_migrate import upgrade

    from models import db
    from services import change_feed
    moved_at = dt.datetime(2026, 3, 2, 9, 30)
    with migrated_app.app_context():
        upgrade(revision="5e2b7c9d1a30")
        with db.engine.begin() as conn:
            _insert_shanxi_and_its_commission(conn)
            conn.execute(sa.text(
                "INSERT INTO institution (id, name, license_no, region_code, address, "
                "licensing_authority_id, responsible_person, reserved_phone, is_military, active,"
                " created_at) VALUES (1, '原单位医院', 'L1', '140105', '', 1, '', '', false, true,"
                " '2020-01-01'), (2, '新单位医院', 'L2', '140105', '', 1, '', '', false, true,"
                " '2020-01-01')"))
            conn.execute(sa.text(
                "INSERT INTO person (id, name, gender, birth_date, is_military, id_number_enc, "
                "id_number_hash, id_number_masked, created_at) VALUES (1, '调走', '1', "
                "'1985-03-17', false, 'x', 'h1', '140105********003X', '2020-01-01')"))
            conn.execute(sa.text(
                "INSERT INTO qualification (id, person_id, code, level, category, year, school, "
                "major, issuing_authority, kind, created_at) VALUES "
                "(1, 1, 'Q1', '1', '1', 2000, '山西医科大学', '临床医学', '卫生部', "
                "'new', '2020-01-01')"))
            conn.execute(sa.text(
                "INSERT INTO registration (id, person_id, qualification_id, level, category, "
                "location_code, institution_id, authority_id, approved_on, status, created_at) "
                "VALUES (1, 1, 1, '1', '1', '140105', 2, 1, '2026-03-02', "
                "'valid', '2020-01-01')"))
            audit = sa.table("audit_log", sa.column("at", sa.DateTime),
                             sa.column("actor_name", sa.String), sa.column("ip", sa.String),
                             sa.column("action", sa.String), sa.column("object_type", sa.String),
                             sa.column("object_id", sa.String), sa.column("before", sa.JSON),
                             sa.column("after", sa.JSON), sa.column("detail", sa.String))
            row = {"at": moved_at, "actor_name": "审批人", "ip": "", "detail": "",
                   "action": "registration_change", "object_type": "registration"}
            conn.execute(sa.insert(audit), [
                dict(row, object_id="1", before={"institution_id": 1},
                     after={"institution_id": 2}),
                dict(row, object_id="1", before={"institution_id": 2},  # scopes only
                     after={"institution_id": 2}),
                dict(row, object_id="not-an-id", before={"institution_id": 1},
                     after={"institution_id": 2}),
                dict(row, object_id="99", before={"institution_id": 1},
                     after={"institution_id": 2}),
                dict(row, action="registration_create", object_id="1", before=None,
                     after={"institution_id": 1}),
            ])
        upgrade()
        with db.engine.connect() as conn:
            moves = conn.execute(sa.text(
                "SELECT registration_id, from_institution_id, to_institution_id, "
                "application_id FROM registration_move")).all()
        assert [tuple(m) for m in moves] == [(1, 1, 2, None)]
        items = change_feed.changes_for_institution(1, moved_at.date())
        assert [(i.day, i.name, i.kind) for i in items] == [
            (moved_at.date(), "调走", "调离本院")]
        assert "新单位医院" in items[0].detail
        db.session.remove()
