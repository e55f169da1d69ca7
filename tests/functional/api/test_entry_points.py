"""How kingsync-api is run: the ``kingsync-api`` command and the WSGI module."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kingsync.api import deploy
from kingsync.db import migration
from tests.functional.api.conftest import Persona

SERVE_WSGI_MODULE = """
import sys
from werkzeug.serving import make_server
from kingsync.api.wsgi import application
make_server("127.0.0.1", int(sys.argv[1]), application, threaded=True).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> requests.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "exited with %s" % process.returncode
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("%s did not come up" % url)


@pytest.fixture
def config_file(tmp_path: Path, service_clouds_yaml: Path) -> Path:
    url = f"sqlite:///{tmp_path}/kingsync.sqlite"
    migration.upgrade(url)
    path = tmp_path / "kingsync.conf"
    path.write_text(
        "[DEFAULT]\ntransport_url = fake:///\n"
        f"[api]\nauth_strategy = noauth\nbind_port = {free_port()}\n"
        f"[database]\nconnection = {url}\n"
        f"[regions]\ncloud = kingsync-service\nclouds_yaml = {service_clouds_yaml}\n"
    )
    return path


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_config_file_from_arguments_first() -> None:
    argv = ["--http", ":8118", "--config-file", "/a.conf", "--config-file=/b.conf"]
    assert deploy.config_files(argv, {"KINGSYNC_CONFIG_FILE": "/env.conf"}) == ["/a.conf", "/b.conf"]


def test_config_file_from_environment_without_arguments() -> None:
    assert deploy.config_files(["--http", ":8118"], {"KINGSYNC_CONFIG_FILE": "/env.conf"}) == ["/env.conf"]


def test_no_config_file_when_none_given_and_no_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(deploy, "DEFAULT_CONFIG_FILE", str(tmp_path / "absent.conf"))
    assert deploy.config_files([], {}) == []


def test_wsgi_module_serves_the_api_configured_by_environment(
    config_file: Path, demo: Persona, started: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    env = {**os.environ, "KINGSYNC_CONFIG_FILE": str(config_file)}
    started.append(subprocess.Popen([sys.executable, "-c", SERVE_WSGI_MODULE, str(port)], env=env))
    url = "http://127.0.0.1:%d" % port
    assert wait_until_up(url + "/", started[0]).json()["versions"][0]["id"] == "v1.0"
    jobs = requests.get(url + "/v1.0/%s/os-sync" % demo.project_id, headers=demo.headers, timeout=10)
    assert jobs.json() == {"job_set": []}


def test_kingsync_api_command_serves_and_stops_on_sigterm(
    config_file: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    command = Path(sys.executable).with_name("kingsync-api")
    process = subprocess.Popen(
        [str(command), "--config-file", str(config_file)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    started.append(process)
    port = next(line for line in config_file.read_text().splitlines() if line.startswith("bind_port"))
    url = "http://127.0.0.1:%s/" % port.split("=")[1].strip()
    assert wait_until_up(url, process).status_code == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    assert b"AUTHENTICATES NOBODY" in (process.stdout.read() if process.stdout else b"")
