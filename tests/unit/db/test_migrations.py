"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from kingsync.db import migration, session
from kingsync.db.models import Base

CHECKOUT = Path(__file__).resolve().parents[3]


def _differences(url: str) -> list[Any]:
    with session.get_engine(url).connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def _schema(url: str) -> dict[str, Any]:
    inspector = sa.inspect(session.get_engine(url))
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
            [(f["referred_table"], f["constrained_columns"]) for f in inspector.get_foreign_keys(table)],
        )
        for table in sorted(inspector.get_table_names())
    }


def test_migrated_schema_matches_the_models(empty_db_url: str) -> None:
    migration.upgrade(empty_db_url)
    assert _differences(empty_db_url) == []


def test_db_sync_twice_changes_nothing(empty_db_url: str) -> None:
    migration.upgrade(empty_db_url)
    before = _schema(empty_db_url)
    migration.upgrade(empty_db_url)
    assert migration.current_revision(empty_db_url) == migration.head_revision()
    assert _schema(empty_db_url) == before


def test_new_database_has_no_revision(empty_db_url: str) -> None:
    assert migration.current_revision(empty_db_url) is None


def test_downgrade_to_base_leaves_only_alembics_own_table(empty_db_url: str) -> None:
    migration.upgrade(empty_db_url)
    migration.downgrade(empty_db_url, "base")
    assert sa.inspect(session.get_engine(empty_db_url)).get_table_names() == ["alembic_version"]


def test_global_quotas_downgrade_to_the_sync_schema_and_upgrade_again(empty_db_url: str) -> None:
    migration.upgrade(empty_db_url)
    migration.downgrade(empty_db_url, "0001")
    tables = sorted(sa.inspect(session.get_engine(empty_db_url)).get_table_names())
    assert (migration.current_revision(empty_db_url), tables) == (
        "0001",
        ["alembic_version", "sync_items", "sync_jobs"],
    )
    migration.upgrade(empty_db_url)
    assert _differences(empty_db_url) == []


def test_comparison_notices_a_missing_index(tmp_path: Path) -> None:
    # The agreement test above is only as good as the comparison: show it bites.
    url = f"sqlite:///{tmp_path}/kingsync.sqlite"
    migration.upgrade(url)
    with session.get_engine(url).begin() as connection:
        connection.execute(sa.text("DROP INDEX ix_sync_items_queue"))
    assert [d[0] for d in _differences(url)] == ["add_index"]


def test_migrations_have_one_head() -> None:
    scripts = ScriptDirectory.from_config(migration.alembic_config())
    assert len(scripts.get_heads()) == 1


def test_checkout_uses_its_own_alembic_directory() -> None:
    assert migration.find_migrations() == CHECKOUT / "alembic"
