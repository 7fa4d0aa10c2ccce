"""seed/demo_gov.py: the commission demo rows load idempotently after the main demo."""
import sqlalchemy as sa

def test_demo_gov_loads_twice(app_ctx):
    from seed.commands import ensure_demo_data
    from models import db
    from models.registry import DirectBusiness
    from models.messaging import Question
    ensure_demo_data(); ensure_demo_data()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DirectBusiness)) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Question).where(Question.title == "激活码一直没有收到怎么办")) == 1
