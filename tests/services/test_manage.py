"""kingsync-manage db sync / db version, run as the operator runs them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from kingsync.db import migration

CHECKOUT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _config(directory: Path, url: str) -> Path:
    path = directory / "kingsync.conf"
    path.write_text(f"[database]\nconnection = {url}\n")
    return path


def _manage(*args: str, cwd: Path, command: Path = BIN / "kingsync-manage") -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH: the command must find kingsync (and its migrations) on its own.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(command), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_db_sync_from_another_directory_creates_the_schema(empty_db_url: str, tmp_path: Path) -> None:
    config = _config(tmp_path, empty_db_url)
    run = _manage("--config-file", str(config), "db", "sync", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert migration.current_revision(empty_db_url) == migration.head_revision()


def test_db_version_prints_the_schema_revision(tmp_path: Path) -> None:
    config = _config(tmp_path, f"sqlite:///{tmp_path}/kingsync.sqlite")
    before = _manage("--config-file", str(config), "db", "version", cwd=tmp_path)
    _manage("--config-file", str(config), "db", "sync", cwd=tmp_path)
    after = _manage("--config-file", str(config), "db", "version", cwd=tmp_path)
    assert (before.stdout.strip(), after.stdout.strip()) == ("None", migration.head_revision())


def test_failed_sync_names_the_database_but_not_its_password(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    config = _config(tmp_path, "postgresql+psycopg2://kingsync:pw-not-for-logs@127.0.0.1:1/kingsync")
    run = _manage("--config-file", str(config), "db", "sync", cwd=tmp_path)
    assert run.returncode == 1
    assert "127.0.0.1:1/kingsync" in run.stderr
    assert "pw-not-for-logs" not in run.stdout + run.stderr


def _source_tree(destination: Path) -> Path:
    """The files of this checkout a release would contain (tracked and new, not ignored)."""
    if shutil.which("git") is None or not (CHECKOUT / ".git").exists():
        pytest.skip("needs a git checkout to know which files make up the source tree")
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=CHECKOUT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = CHECKOUT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@pytest.mark.slow
def test_installed_package_finds_its_migrations(tmp_path: Path) -> None:
    """pip install (not editable) into a fresh venv, then db sync from elsewhere."""
    source = _source_tree(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # kingsync's dependencies come from the test venv (a plain path entry: its
    # .pth files, among them the editable checkout's, are not run).
    Path(site_packages, "test-venv-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index"]
        + ["--no-build-isolation", "--disable-pip-version-check", str(source)],
        env={**os.environ, "PBR_VERSION": "0.0.1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stderr
    shutil.rmtree(source)  # nothing of the source tree may be needed any more

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    url = f"sqlite:///{tmp_path}/kingsync.sqlite"
    run = _manage(
        "--config-file",
        str(_config(elsewhere, url)),
        "db",
        "sync",
        cwd=elsewhere,
        command=venv / "bin" / "kingsync-manage",
    )
    assert run.returncode == 0, run.stderr
    assert migration.current_revision(url) == migration.head_revision()
    where = subprocess.run(
        [str(python), "-c", "from kingsync.db import migration; print(migration.find_migrations())"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where) == venv / "share" / "kingsync" / "alembic"
