"""Migrations build the schema the models describe (no pending autogenerate diff), and
upgrading keeps rows."""

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
