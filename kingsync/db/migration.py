"""Schema migrations: find kingsync's Alembic scripts, upgrade, report the revision.

The scripts live in the top-level ``alembic/`` of the source tree. An installed
kingsync (a wheel or an sdist, not an editable checkout) carries them as data
files in ``<prefix>/share/kingsync/alembic`` (setup.cfg ``[files] data_files``).
Alembic is configured here in code, so neither an alembic.ini nor the working
directory matters.
"""

from __future__ import annotations

import site
import sys
import sysconfig
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import kingsync
from kingsync.db import session

DATA_DIR = Path("share", "kingsync", "alembic")


class MigrationsNotFound(Exception):
    pass


def _candidates() -> list[Path]:
    package = Path(kingsync.__file__).resolve().parent
    found: list[Path] = []
    # A checkout first: its alembic/ sits next to the package, beside setup.cfg.
    # (The setup.cfg check matters: next to an installed package, site-packages/
    # alembic is the Alembic library itself.)
    if (package.parent / "setup.cfg").is_file():
        found.append(package.parent / "alembic")
    prefixes = [Path(sys.prefix), Path(sysconfig.get_path("data")), Path(site.getuserbase())]
    # <prefix>/lib/pythonX.Y/site-packages/kingsync: an install with --prefix or
    # --root, whose prefix is not the running interpreter's.
    if len(package.parents) > 4:
        prefixes.append(package.parents[3])
    # pip install --target DIR puts the data files in DIR, beside the package.
    prefixes.append(package.parent)
    for prefix in prefixes:
        path = prefix / DATA_DIR
        if path not in found:
            found.append(path)
    return found


def find_migrations() -> Path:
    """The directory holding env.py and versions/ for this kingsync."""
    candidates = _candidates()
    for path in candidates:
        if (path / "env.py").is_file() and (path / "versions").is_dir():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise MigrationsNotFound(f"kingsync's Alembic migrations are not installed; looked in: {looked}")


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(find_migrations()))
    # Alembic reads this for its own version_locations; "os" is its modern default.
    config.set_main_option("path_separator", "os")
    if url:
        # Config values are %-interpolated; a password may contain "%".
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Create or upgrade the schema at ``url`` (default: [database] connection)."""
    config = alembic_config(url)
    with session.get_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    config = alembic_config(url)
    with session.get_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(url: str | None = None) -> str | None:
    """The schema's revision, or None for a database kingsync never migrated."""
    with session.get_engine(url).connect() as connection:
        revision: str | None = MigrationContext.configure(connection).get_current_revision()
        return revision


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationsNotFound("kingsync's Alembic migrations have no revision")
    return head
