"""Typed SQLAlchemy models. The database is the work queue and the truth:
a job and its items are rows before anything is cast over RPC, and a
project's global limits are rows before any region is told."""

from __future__ import annotations

import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Double, ForeignKey, Index, Integer, String, Text
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
UPDATED = "updated"  # a different one was there and `force` changed it in place
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

    __table_args__ = (
        Index("ix_sync_jobs_owner", "project_id", "user_id", "status"),
        Index("ix_sync_jobs_finished", "status", "updated_at"),
    )


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
    # Items that move data (images): bytes done of bytes in all, as the engine last wrote them.
    bytes_done: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    bytes_total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
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


class SyncCopy(Base):
    """The id record: which source resource became which target resource.

    Written as soon as the target object exists (``complete`` false), so an
    attempt cut short leaves a trail the next one follows; ``complete`` once
    every step of the copy is done. Security group ids cannot be chosen and
    an image id may be taken, so a target's id is known only from here.

    ``scope`` is whose resource it is: the project id (security groups,
    images), the user id (keypairs), or "" (flavors, which are global). The
    primary key is a digest of (kind, scope, source region, source id, target
    region): those five as a key would pass MySQL's limit on index length.
    """

    __tablename__ = "sync_copies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(64))
    source_region: Mapped[str] = mapped_column(String(255))
    source_id: Mapped[str] = mapped_column(String(255))
    target_region: Mapped[str] = mapped_column(String(255))
    target_id: Mapped[str] = mapped_column(String(255))
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    item_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # the item that last wrote it
    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime.datetime] = mapped_column(Timestamp)

    __table_args__ = (Index("ix_sync_copies_scope", "kind", "scope"),)


class SyncLock(Base):
    """A name only one running item may hold at a time (e.g. one project's security
    groups in one region, where two items at once could both create a group
    their rules refer to). The holder is an item: the lock is free again as soon
    as that item is no longer leased (it ended, or its engine died), so it needs
    no expiry of its own."""

    __tablename__ = "sync_locks"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(36))


# -- global quotas ---------------------------------------------------------------------------------
#
# Global limits (per project, and the quota classes whose "default" class
# fills the gaps) are what admins set; quota_projects is the reconciliation
# queue (a row per managed project, claimed with a lease like a sync item);
# quota_regional is what kingsync last confirmed in each region. Project ids
# are Keystone's: no foreign keys, a project is not a row of ours.

# Why kingsync manages a project (quota_projects.managed_by).
MANAGED_BY_LIMITS = "limits"  # an admin set a limit, a region setting or a policy for it
MANAGED_BY_DISCOVERY = "discovery"  # [quota] manage_all_projects found it in Keystone


class QuotaLimit(Base):
    """A project's global limit for one resource, set by an admin."""

    __tablename__ = "quota_limits"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)


class QuotaClass(Base):
    """A quota class's limit for one resource; the "default" class overrides the built-in defaults."""

    __tablename__ = "quota_classes"

    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)


class QuotaProject(Base):
    """A project under kingsync's management: its overrides and its place in the reconciliation queue."""

    __tablename__ = "quota_projects"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The project's own headroom policy; None: [quota] headroom_policy / proportional_floor.
    headroom_policy: Mapped[str | None] = mapped_column(String(16), nullable=True)
    policy_floor: Mapped[float | None] = mapped_column(Double, nullable=True)
    managed_by: Mapped[str] = mapped_column(String(16))
    # Work queue: due when next_check_at has passed and no live lease holds it.
    next_check_at: Mapped[datetime.datetime] = mapped_column(Timestamp)
    lease_owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lease_expires_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)
    last_reconciled_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp)

    __table_args__ = (Index("ix_quota_projects_due", "next_check_at"),)


class QuotaRegionSetting(Base):
    """An admin's setting for one project in one region: excluded regions get no headroom."""

    __tablename__ = "quota_region_settings"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(255), primary_key=True)
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)


class QuotaPin(Base):
    """A regional limit an admin fixed for one project, region and resource."""

    __tablename__ = "quota_pins"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaRegional(Base):
    """What kingsync last knew of one resource of a project in one region.

    ``hard_limit`` is the last limit confirmed there (read back after a write,
    or read): an unreachable region keeps it in the budget. ``demand`` is the
    smoothed recent growth of usage, for the proportional policy.
    """

    __tablename__ = "quota_regional"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confirmed_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)
    usage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    usage_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)
    demand: Mapped[float] = mapped_column(Double, default=0.0)


class QuotaRegionStatus(Base):
    """Whether a region's service answered kingsync's last quota call."""

    __tablename__ = "quota_region_status"

    region: Mapped[str] = mapped_column(String(255), primary_key=True)
    service: Mapped[str] = mapped_column(String(16), primary_key=True)
    reachable: Mapped[bool] = mapped_column(Boolean)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    checked_at: Mapped[datetime.datetime] = mapped_column(Timestamp)
    last_ok_at: Mapped[datetime.datetime | None] = mapped_column(Timestamp, nullable=True)


class QuotaAudit(Base):
    """One change of a global or regional limit, or of a project's settings: who, why, old and new."""

    __tablename__ = "quota_audit"

    # BIGINT on the servers (it grows for ever); SQLite only autoincrements INTEGER.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: a quota class change
    class_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    region: Mapped[str | None] = mapped_column(String(255), nullable=True)  # None: a global limit
    resource: Mapped[str] = mapped_column(String(255))
    old_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    new_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(Timestamp)

    __table_args__ = (Index("ix_quota_audit_project", "project_id", "created_at", "id"),)
