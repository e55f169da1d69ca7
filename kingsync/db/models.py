"""Typed SQLAlchemy models. The database is the work queue and the truth:
a job and its items are rows before anything is cast over RPC."""

from __future__ import annotations

import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Microseconds on every database: MySQL's plain DATETIME keeps whole seconds,
# which would reorder jobs made within one second and round retry times.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

# Kingbird's status values, for jobs and items alike.
IN_PROGRESS = "IN_PROGRESS"
SUCCESS = "SUCCESS"
FAILURE = "FAILURE"
TERMINAL = (SUCCESS, FAILURE)

# How an item ended, beyond SUCCESS/FAILURE.
CREATED = "created"  # made in the target
UNCHANGED = "unchanged"  # an identical resource was there already
REPLACED = "replaced"  # a different one was there and `force` replaced it
CONFLICT = "conflict"  # a different one was there, no `force`
ERROR = "error"  # failed: permanent error, or transient ones until max_attempts


class Base(DeclarativeBase):
    pass


class SyncJob(Base):
    """A tenant's request to copy resources from a source region to targets."""

    __tablename__ = "sync_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=IN_PROGRESS)
    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)

    items: Mapped[list[SyncItem]] = relationship(
        back_populates="job",
        cascade="all, delete-orphan",
        order_by=lambda: [SyncItem.created_at, SyncItem.target_region, SyncItem.resource],
    )

    __table_args__ = (Index("ix_sync_jobs_owner", "project_id", "user_id", "status"),)


class SyncItem(Base):
    """One resource to one target region: the unit an engine claims and runs."""

    __tablename__ = "sync_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("sync_jobs.id", ondelete="CASCADE"))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource: Mapped[str] = mapped_column(String(255))
    source_region: Mapped[str] = mapped_column(String(255))
    target_region: Mapped[str] = mapped_column(String(255))
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=IN_PROGRESS)
    result: Mapped[str | None] = mapped_column(String(16), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    target_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Work queue: an item is claimable while IN_PROGRESS, due and not leased.
    next_attempt_at: Mapped[datetime.datetime] = mapped_column(Timestamp)
    lease_owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lease_expires_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)
    started_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)
    finished_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)

    job: Mapped[SyncJob] = relationship(back_populates="items")

    __table_args__ = (
        Index("ix_sync_items_job", "job_id"),
        Index("ix_sync_items_queue", "status", "next_attempt_at"),
    )
