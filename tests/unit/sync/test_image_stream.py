"""One read of the source, fanned out: paced by the slowest, a failing target dropped, memory bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from kingsync.sync import image_stream
from kingsync.sync.image_stream import Pipe

CHUNK = 64 * 1024


def chunks(count: int, reads: list[int] | None = None) -> Iterator[bytes]:
    for n in range(count):
        if reads is not None:
            reads.append(n)
        yield bytes([n % 251]) * CHUNK


def drain(into: list[bytes], pause: float = 0.0, fail_after: int | None = None) -> image_stream.Upload:
    def upload(pipe: Pipe) -> None:
        got = 0
        while block := pipe.read(16 * 1024):
            got += len(block)
            into.append(bytes(block))
            if fail_after is not None and got >= fail_after:
                raise ConnectionError("target went away")
            if pause:
                time.sleep(pause)
        assert got == pipe.len

    return upload


def test_every_target_gets_every_byte_from_one_read() -> None:
    reads: list[int] = []
    a: list[bytes] = []
    b: list[bytes] = []
    result = image_stream.fan_out(
        chunks(20, reads), 20 * CHUNK, {"a": drain(a), "b": drain(b)}, depth=2, stall_timeout=5
    )
    expected = b"".join(chunks(20))
    assert b"".join(a) == expected and b"".join(b) == expected
    assert reads == list(range(20))  # each chunk read once
    assert result.read == 20 * CHUNK
    assert result.failures == {"a": None, "b": None}


def test_a_failing_target_is_dropped_and_the_others_finish() -> None:
    good: list[bytes] = []
    bad: list[bytes] = []
    result = image_stream.fan_out(
        chunks(40),
        40 * CHUNK,
        {"good": drain(good), "bad": drain(bad, fail_after=5 * CHUNK)},
        depth=2,
        stall_timeout=5,
    )
    assert isinstance(result.failures["bad"], ConnectionError)
    assert result.failures["good"] is None
    assert len(b"".join(good)) == 40 * CHUNK


def test_the_reader_waits_for_the_slowest_and_holds_only_a_few_chunks() -> None:
    depth = 3
    pipes: list[Pipe] = []
    most = 0
    lock = threading.Lock()

    def slow(pipe: Pipe) -> None:
        nonlocal most
        pipes.append(pipe)
        while block := pipe.read(CHUNK):
            with lock:
                most = max(most, pipe._chunks.qsize())  # noqa: SLF001 (what the pipe holds)
            time.sleep(0.002)
            assert block

    fast: list[bytes] = []
    image_stream.fan_out(chunks(60), 60 * CHUNK, {"slow": slow, "fast": drain(fast)}, depth=depth, stall_timeout=5)
    assert most <= depth
    assert len(b"".join(fast)) == 60 * CHUNK


def test_a_stalled_target_is_dropped_after_the_stall_timeout() -> None:
    stuck = threading.Event()

    def stalls(pipe: Pipe) -> None:
        pipe.read(1)
        stuck.wait(2)  # takes nothing more for a while
        pipe.read(1)  # then finds itself aborted

    fine: list[bytes] = []
    started = time.monotonic()
    result = image_stream.fan_out(
        chunks(30), 30 * CHUNK, {"stuck": stalls, "fine": drain(fine)}, depth=1, stall_timeout=0.5
    )
    stuck.set()
    assert isinstance(result.failures["stuck"], image_stream.Stalled)
    assert result.failures["fine"] is None and len(b"".join(fine)) == 30 * CHUNK
    assert time.monotonic() - started < 8


def test_a_short_source_aborts_every_upload_and_raises() -> None:
    seen: list[BaseException] = []

    def upload(pipe: Pipe) -> None:
        try:
            while pipe.read(CHUNK):
                pass
        except BaseException as exc:
            seen.append(exc)
            raise

    with pytest.raises(image_stream.SourceCut, match="sent 655360 of"):
        image_stream.fan_out(chunks(10), 11 * CHUNK, {"a": upload, "b": upload}, depth=2, stall_timeout=5)
    assert len(seen) == 2 and all(isinstance(exc, image_stream.SourceCut) for exc in seen)
