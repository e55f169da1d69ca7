"""Global quotas: limits, classes, managed projects, regional state, audit.

Revision ID: 0002
Revises: 0001
Create Date: 2027-01-10
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Microseconds on MySQL too (its plain DATETIME keeps whole seconds).
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# InnoDB for row locks; utf8mb4 so any resource or region name fits.
MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "quota_limits",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("resource", sa.String(255), primary_key=True),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=True),
        **MYSQL,
    )
    op.create_table(
        "quota_classes",
        sa.Column("class_name", sa.String(255), primary_key=True),
        sa.Column("resource", sa.String(255), primary_key=True),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=True),
        **MYSQL,
    )
    op.create_table(
        "quota_projects",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("headroom_policy", sa.String(16), nullable=True),
        sa.Column("policy_floor", sa.Double(), nullable=True),
        sa.Column("managed_by", sa.String(16), nullable=False),
        sa.Column("next_check_at", TIMESTAMP, nullable=False),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
        sa.Column("last_reconciled_at", TIMESTAMP, nullable=True),
        sa.Column("last_status", sa.String(16), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        **MYSQL,
    )
    op.create_index("ix_quota_projects_due", "quota_projects", ["next_check_at"])
    op.create_table(
        "quota_region_settings",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("region", sa.String(255), primary_key=True),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        **MYSQL,
    )
    op.create_table(
        "quota_pins",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("region", sa.String(255), primary_key=True),
        sa.Column("resource", sa.String(255), primary_key=True),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        **MYSQL,
    )
    op.create_table(
        "quota_regional",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("region", sa.String(255), primary_key=True),
        sa.Column("resource", sa.String(255), primary_key=True),
        sa.Column("hard_limit", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", TIMESTAMP, nullable=True),
        sa.Column("usage", sa.Integer(), nullable=True),
        sa.Column("usage_at", TIMESTAMP, nullable=True),
        sa.Column("demand", sa.Double(), nullable=False),
        **MYSQL,
    )
    op.create_table(
        "quota_region_status",
        sa.Column("region", sa.String(255), primary_key=True),
        sa.Column("service", sa.String(16), primary_key=True),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("checked_at", TIMESTAMP, nullable=False),
        sa.Column("last_ok_at", TIMESTAMP, nullable=True),
        **MYSQL,
    )
    op.create_table(
        "quota_audit",
        # BIGINT on the servers; SQLite only autoincrements an INTEGER primary key.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(64), nullable=True),
        sa.Column("class_name", sa.String(255), nullable=True),
        sa.Column("region", sa.String(255), nullable=True),
        sa.Column("resource", sa.String(255), nullable=False),
        sa.Column("old_limit", sa.Integer(), nullable=True),
        sa.Column("new_limit", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        **MYSQL,
    )
    op.create_index("ix_quota_audit_project", "quota_audit", ["project_id", "created_at", "id"])


def downgrade() -> None:
    for table in (
        "quota_audit",
        "quota_region_status",
        "quota_regional",
        "quota_pins",
        "quota_region_settings",
        "quota_projects",
        "quota_classes",
        "quota_limits",
    ):
        op.drop_table(table)
