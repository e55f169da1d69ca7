"""The id record of sync copies, the sync locks, and an index for purging finished jobs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Microseconds on MySQL too (its plain DATETIME keeps whole seconds).
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "sync_copies",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("source_region", sa.String(255), nullable=False),
        sa.Column("source_id", sa.String(255), nullable=False),
        sa.Column("target_region", sa.String(255), nullable=False),
        sa.Column("target_id", sa.String(255), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("item_id", sa.String(36), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        **MYSQL,
    )
    op.create_index("ix_sync_copies_scope", "sync_copies", ["kind", "scope"])
    op.create_table(
        "sync_locks",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("item_id", sa.String(36), nullable=False),
        **MYSQL,
    )
    op.create_index("ix_sync_jobs_finished", "sync_jobs", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_sync_jobs_finished", "sync_jobs")
    op.drop_table("sync_locks")
    op.drop_table("sync_copies")
