"""``kingsync all-in-one`` in a process of its own, measured from outside.

- which code it runs: the installed package, or a source tree given as
  ``src_dir``, put ahead of it on PYTHONPATH. Checked twice: kingsync is
  imported under the same interpreter and environment and its file must be
  in ``src_dir``; the engine's own /proc/<pid>/environ must carry that PYTHONPATH.
- memory: VmRSS and VmHWM from /proc/<pid>/status, the peak reset by writing
  ``5`` to /proc/<pid>/clear_refs
- CPU: utime + stime from /proc/<pid>/stat
- bytes: the kernel's ``sock:sock_recv_length`` and ``sock:sock_send_length``
  tracepoints, under ``perf record``. Received bytes are attributed to the
  peer port of their socket by the ``tcp:tcp_rcv_space_adjust`` event the
  same thread raises in the same recv. /proc/<pid>/io ``rchar`` is no use
  here: it counts read() and pread(), and Python's sockets read with recv().
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

BIN = Path(sys.executable).parent
SERVICE_USER = (
    "auth_type = password\nusername = kingsync\npassword = service-secret\nproject_name = service\n"
    "user_domain_name = Default\nproject_domain_name = Default\n"
)
PERF_EVENTS = ["sock:sock_recv_length", "sock:sock_send_length", "tcp:tcp_rcv_space_adjust"]
MSG_PEEK = 0x2
_WHICH = "import kingsync.cmd.allinone as m; print(m.__file__)"


def perf_problem() -> str | None:
    """Why perf cannot count the engine's socket bytes here, or None."""
    if shutil.which("perf") is None:
        return "perf is not installed"
    events = [arg for event in PERF_EVENTS for arg in ("-e", event)]
    done = subprocess.run(
        ["perf", "record", "-q", "-k", "mono", *events, "-o", "/dev/null", "--", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return "perf record cannot trace %s: %s" % (", ".join(PERF_EVENTS), done.stderr.strip()[-300:])
    return None


def environment(src_dir: Path | None) -> dict[str, str]:
    """The engine's environment: this one, with ``src_dir`` first on PYTHONPATH.

    PYTHONPATH comes before site-packages, and the editable install's finder
    comes after the path finder, so ``src_dir``'s kingsync is the one imported."""
    env = dict(os.environ)
    if src_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src_dir), *filter(None, [env.get("PYTHONPATH")])])
    return env


@functools.cache
def code_run(src_dir: Path | None) -> str:
    """The file of ``kingsync.cmd.allinone`` that an engine with ``src_dir`` runs,
    found the way the engine finds it (same interpreter and environment, an
    empty working directory); RuntimeError if ``src_dir`` is given and it is not in it."""
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run(
            [str(BIN / "python"), "-c", _WHICH], env=environment(src_dir), cwd=cwd, capture_output=True, text=True
        )
    if done.returncode != 0:
        raise RuntimeError(f"importing kingsync failed: {done.stderr.strip()[-500:]}")
    found = done.stdout.strip()
    if src_dir is not None and not Path(found).resolve().is_relative_to(src_dir.resolve()):
        raise RuntimeError(f"the engine would run {found}, not the tree {src_dir}")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


class Engine:
    """``kingsync all-in-one`` (SQLite, generated config) under ``perf record`` when it can."""

    def __init__(self, auth_url: str, work: Path, glance_download: bool, perf: bool, src_dir: Path | None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = work / "kingsync.log"
        self.perf_data = work / "perf.data" if perf else None
        self.code = code_run(src_dir)
        self._src_dir = src_dir
        conf = work / "kingsync.conf"
        debug = os.environ.get("KS_BENCH_DEBUG", "false")
        conf.write_text(
            # fake:// said outright: an all-in-one before e992a3f took oslo.messaging's
            # default, rabbit://, and shared its doorbells with every other kingsync here.
            f"[DEFAULT]\ntransport_url = fake://\nlog_file = {self.log}\ndebug = {debug}\n\n"
            f"[api]\nbind_host = 127.0.0.1\nbind_port = {self.port}\n\n"
            f"[database]\nconnection = sqlite:///{work}/kingsync.sqlite\n\n"
            # A failed attempt is reported, not hidden behind retries.
            "[engine]\nmax_attempts = 2\nretry_backoff = 1\n\n"
            f"[images]\nglance_download = {str(glance_download).lower()}\n\n"
            f"[regions]\nauth_url = {auth_url}\n{SERVICE_USER}\n"
            f"[keystone_authtoken]\nwww_authenticate_uri = {auth_url}\nauth_url = {auth_url}\n"
            f"{SERVICE_USER}"
        )
        # The console script's interpreter is this venv's; under src_dir's PYTHONPATH
        # it imports that tree's kingsync.cmd.allinone, as code_run checked.
        command = [str(BIN / "kingsync"), "all-in-one", "--config-file", str(conf)]
        if self.perf_data is not None:
            events = [arg for event in PERF_EVENTS for arg in ("-e", event)]
            command = ["perf", "record", "-q", "-k", "mono", *events, "-o", str(self.perf_data), "--", *command]
        with (work / "stderr").open("wb") as stderr:
            self.process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=stderr, env=environment(src_dir), cwd=work
            )
        self.pid = self._engine_pid()
        self._check_environment()

    def _check_environment(self) -> None:
        """The engine's own PYTHONPATH is the one code_run imported kingsync under."""
        entries = Path(f"/proc/{self.pid}/environ").read_text().split("\0")
        environ = {name: value for name, _, value in (entry.partition("=") for entry in entries)}
        if environ.get("PYTHONPATH") != environment(self._src_dir).get("PYTHONPATH"):
            raise RuntimeError(f"the engine runs with PYTHONPATH={environ.get('PYTHONPATH')}, not for {self._src_dir}")

    def _engine_pid(self) -> int:
        if self.perf_data is None:
            return self.process.pid
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = children.read_text().split() if children.exists() else []
            if found:
                return int(found[0])
            if self.process.poll() is not None:
                break
            time.sleep(0.01)
        raise RuntimeError("perf record did not start kingsync all-in-one")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kingsync all-in-one exited; its log ends: {self.tail()}")
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(self.url + "/", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"kingsync all-in-one did not answer within 60 s; its log ends: {self.tail()}")

    def rss_kib(self) -> int:
        return _status(self.pid)["VmRSS"]

    def peak_kib(self) -> int:
        return _status(self.pid)["VmHWM"]

    def reset_peak(self) -> None:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log.exists() else "(no log)"

    def stop(self) -> None:
        """Kill the engine: once its job has ended nothing in it is still needed (its
        log is written line by line, perf writes its data when the engine is gone),
        and its orderly stop takes seconds that a run of many cases would pay each time."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait(60)


_SAMPLE = re.compile(r"^\s*(\d+)/(\d+)\s+([\d.]+):\s+(\S+):\s+(.*)$")


def socket_bytes(perf_data: Path, pid: int, start: float, end: float, source_port: int) -> dict[str, int]:
    """TCP bytes the process received (in all, and from ``source_port``) and sent
    between ``start`` and ``end`` (CLOCK_MONOTONIC seconds)."""
    out = subprocess.run(
        ["perf", "script", "-i", str(perf_data), "-F", "pid,tid,time,event,trace"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    received = from_source = sent = 0
    peer: dict[int, int] = {}  # thread -> peer port of the socket it last read from
    for line in out.splitlines():
        match = _SAMPLE.match(line)
        if match is None or int(match[1]) != pid:
            continue
        tid, moment, event, trace = int(match[2]), float(match[3]), match[4], match[5]
        if event == "tcp:tcp_rcv_space_adjust":
            port = re.search(r"\bdport=(\d+)", trace)
            if port:
                peer[tid] = int(port[1])
            continue
        if not (start <= moment <= end) or "IPPROTO_TCP" not in trace:
            continue
        fields = dict(re.findall(r"(\w+) = (\S+?),?(?:\s|$)", trace))
        length = int(fields.get("length", "0"))
        if length <= 0:
            continue
        if event == "sock:sock_recv_length" and not int(fields.get("flags", "0"), 16) & MSG_PEEK:
            received += length
            if peer.get(tid) == source_port:
                from_source += length
        elif event == "sock:sock_send_length":
            sent += length
    return {"received": received, "received_from_source": from_source, "sent": sent}
