"""One read of an image's data, fanned out to every target's upload at once.

The engine reads the source's ``/file`` once and hands each chunk to every
target's upload, each through a ``Pipe`` that holds at most ``depth``
chunks. Memory is bounded by chunks, never by the image: the reader waits
for the slowest upload (it sets the pace), and an upload that fails, or
takes no data for ``stall_timeout`` seconds, is dropped while the others
go on. Nothing touches the disk.

A pipe is the body of one upload: a file-like object with a ``len``, which
requests sends with a Content-Length (Glance's uWSGI needs no chunked input
then) by reading it block by block in the upload's thread.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping

_EOF = b""
_POLL = 0.2  # seconds between looks at an aborted pipe or a stalled upload


class Stalled(Exception):
    """An upload took no data for longer than the stall timeout."""


class SourceCut(Exception):
    """The source's data ended short of, or ran past, the image's size."""


class Pipe:
    """The body of one upload: chunks in from the reader, blocks out to requests."""

    def __init__(self, size: int, depth: int) -> None:
        self.len = size  # what requests reads for the Content-Length
        self._chunks: queue.Queue[bytes] = queue.Queue(depth)
        self._view = memoryview(_EOF)
        self._failure: BaseException | None = None
        self.taken = 0  # bytes handed to the upload so far
        self.ended = threading.Event()  # the upload returned or raised

    # -- the upload's side ------------------------------------------------------------------

    def read(self, size: int = -1) -> memoryview:
        if self._failure is not None:
            raise self._failure
        while not self._view:
            if self._failure is not None:
                raise self._failure
            try:
                chunk = self._chunks.get(timeout=_POLL)
            except queue.Empty:
                continue
            if chunk is _EOF:
                return memoryview(_EOF)
            self._view = memoryview(chunk)
        if size < 0 or size >= len(self._view):
            block, self._view = self._view, memoryview(_EOF)
        else:
            block, self._view = self._view[:size], self._view[size:]
        self.taken += len(block)
        return block

    # -- the reader's side ------------------------------------------------------------------

    def offer(self, chunk: bytes, stall_timeout: float) -> bool:
        """Queue a chunk (``b""``: the end); False if the upload ended, or stalled (then aborted)."""
        deadline = time.monotonic() + stall_timeout
        while not self.ended.is_set():
            try:
                self._chunks.put(chunk, timeout=_POLL)
                return True
            except queue.Full:
                if time.monotonic() >= deadline:
                    self.abort(Stalled("the upload took no data for %.0f s" % stall_timeout))
                    return False
        return False

    def abort(self, failure: BaseException) -> None:
        """Make the upload's next read raise ``failure`` (requests then drops the connection)."""
        self._failure = failure

    @property
    def failure(self) -> BaseException | None:
        return self._failure


@dataclasses.dataclass
class Result:
    """How a fan-out ended: bytes read, and each target's failure (None: uploaded)."""

    read: int
    failures: dict[str, BaseException | None]


Upload = Callable[[Pipe], None]  # sends the pipe as an image's data; raises if it was not taken
Progress = Callable[[str, int], None]  # target, bytes handed to its upload


def fan_out(
    source: Iterable[bytes],
    size: int,
    uploads: Mapping[str, Upload],
    *,
    depth: int,
    stall_timeout: float,
    progress: Progress | None = None,
) -> Result:
    """Read ``source`` (``size`` bytes) once, send every chunk to every upload.

    Each upload runs in a thread of its own and reads its pipe. A source that
    fails (raises, or ends short of ``size``) aborts every upload and raises;
    a failing upload is only dropped. Returns once every upload has ended.
    """
    pipes = {name: Pipe(size, depth) for name in uploads}
    failures: dict[str, BaseException | None] = {}
    threads = [
        threading.Thread(
            target=_run, args=(uploads[name], pipes[name], failures, name), name="upload-%s" % name, daemon=True
        )
        for name in uploads
    ]
    for thread in threads:
        thread.start()
    read = 0
    try:
        for chunk in source:
            if not chunk:
                continue
            read += len(chunk)
            if read > size:
                raise SourceCut("the source sent more than the image's %d bytes" % size)
            live = [name for name, pipe in pipes.items() if not pipe.ended.is_set()]
            if not live:
                break  # every upload failed: reading on buys nothing
            for name in live:
                if pipes[name].offer(chunk, stall_timeout) and progress is not None:
                    progress(name, read)
        else:
            if read != size:
                raise SourceCut("the source sent %d of the image's %d bytes" % (read, size))
            for pipe in pipes.values():
                pipe.offer(_EOF, stall_timeout)
    except BaseException as failure:
        for pipe in pipes.values():
            pipe.abort(failure)
        _join(threads)
        raise
    _join(threads)
    return Result(read, {name: failures.get(name) for name in uploads})


def _run(upload: Upload, pipe: Pipe, failures: dict[str, BaseException | None], name: str) -> None:
    try:
        upload(pipe)
        failures[name] = pipe.failure  # an upload that swallowed its abort was still cut off
    except BaseException as failure:
        failures[name] = failure
    finally:
        pipe.ended.set()


def _join(threads: Iterable[threading.Thread]) -> None:
    # An upload whose pipe was aborted raises at its next read; one blocked in a
    # send returns at its socket timeout. Both end: wait for them.
    for thread in threads:
        thread.join()
