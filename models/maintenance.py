"""PostgreSQL autovacuum thresholds of the national-size tables.

By default autovacuum visits a table after 20 % of its rows changed (and after 20 % more were
inserted): on a register of 4.8 million registrations that is a million changes, and until
then every page a change touched has lost its all-visible bit, so the index-only scans of a
hospital's lists and statistics go back to the heap for each of its rows. One per cent keeps
those tables visited after tens of thousands of changes.

Index cleanup is switched on for them too (`vacuum_index_cleanup`): by default a vacuum that
finds dead rows on fewer than 2 % of a table's pages skips its indexes, and a page that keeps
its dead line pointers never gets the all-visible bit. Those pages are the busy hospital's —
every approval, 备案 and 注销 there leaves one — so its 统计信息 and lists read thousands of
heap rows behind their index-only scans (measured, 4.8 M registrations: 3,741 heap fetches for
one hospital's 4,500 registrations; 0 after a vacuum with index cleanup, 统计信息 p50 28 → 22
ms). Set on CREATE TABLE (create_all), by migration 3f1c2a9b7d10 (thresholds) and
9c41d7e2a5b3 (index cleanup) on existing databases."""
import sqlalchemy as sa

from . import db

BIG_TABLES = ("person", "qualification", "registration", "registration_scope",
              "physician_account", "institution", "application", "assessment", "audit_log",
              "qualification_region", "assessment_region", "credit_record_region")

AUTOVACUUM_SETTINGS = {"autovacuum_vacuum_scale_factor": "0.01",
                       "autovacuum_vacuum_insert_scale_factor": "0.01",
                       "autovacuum_analyze_scale_factor": "0.02",
                       "vacuum_index_cleanup": "on"}


def autovacuum_sql(table: str) -> str:
    options = ", ".join(f"{k} = {v}" for k, v in AUTOVACUUM_SETTINGS.items())
    return f'ALTER TABLE "{table}" SET ({options})'


def _install() -> None:
    for name in BIG_TABLES:
        table = db.metadata.tables[name]
        sa.event.listen(table, "after_create",
                        sa.DDL(autovacuum_sql(name)).execute_if(dialect="postgresql"))


_install()
