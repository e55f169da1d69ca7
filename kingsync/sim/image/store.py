"""The image store: one file per image under the cloud's data directory,
written and read in chunks so no image is ever held whole in memory.

Hashing and disk I/O run in worker threads (hashlib releases the GIL on
large buffers), so a big upload to one region does not stall the event
loop that serves every region.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 64 * 1024
HASH_ALGO = "sha512"  # [DEFAULT] hashing_algorithm
SIZE_CAP = 10 * 1024**3  # [DEFAULT] image_size_cap as the devcloud sets it
STORE_ID = "fs"  # the devcloud's enabled_backends = fs:file
# Formats oslo.utils' format inspector can recognise; a disk_format outside
# this list (ami, ari, aki, ploop) is taken as is.
INSPECTABLE = ("raw", "qcow2", "vhd", "vhdx", "vmdk", "vdi", "iso")
HEAD_BYTES = 0x8006  # enough to see every magic number below (ISO's is at 0x8001)


class TooLarge(Exception):
    pass


class SizeMismatch(Exception):
    pass


def check_size(written: int, expected: int | None, finished: bool) -> None:
    """glance_store's file driver against the size the client declared (none
    or 0: no check). More data is refused at the 64 KiB block that passes
    the size ("got" counts up to that block's end), less once the data ends."""
    if not expected:
        return
    if written > expected:
        block_end = CHUNK if expected < 0 else (expected // CHUNK + 1) * CHUNK
        if finished or written >= block_end:
            raise SizeMismatch("Size exceeds: expected %d bytes, got %d bytes" % (expected, min(written, block_end)))
    elif finished and written != expected:
        raise SizeMismatch("Size mismatch: expected %d bytes, got %d bytes" % (expected, written))


class Sink:
    """Writes an upload to a partial file, hashing as it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".part")
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.multihash = hashlib.new(HASH_ALGO)
        self.size = 0
        self.head = b""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO | None = open(self.partial, "wb")

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > SIZE_CAP:
            raise TooLarge()
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        await asyncio.to_thread(self._write, chunk)

    def _write(self, chunk: bytes) -> None:
        assert self._file is not None
        self._file.write(chunk)
        self.md5.update(chunk)
        self.multihash.update(chunk)

    def commit(self) -> None:
        """Close the file and put it in place as the image's data."""
        self.close()
        os.replace(self.partial, self.path)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        self.close()
        self.partial.unlink(missing_ok=True)


async def read(path: Path, offset: int, length: int) -> AsyncIterator[bytes]:
    """``length`` bytes of the file from ``offset``, in chunks."""
    handle = await asyncio.to_thread(open, path, "rb")
    try:
        await asyncio.to_thread(handle.seek, offset)
        left = length
        while left > 0:
            chunk = await asyncio.to_thread(handle.read, min(CHUNK * 16, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def inspect(head: bytes, size: int) -> tuple[str, int | None]:
    """The format of the data and its virtual size, from its first bytes, as
    far as the simulator knows formats (qcow2 in full; the others by their
    magic only, without a virtual size)."""
    if head[:4] == b"QFI\xfb" and len(head) >= 32:
        return "qcow2", struct.unpack(">Q", head[24:32])[0]
    if head[:8] == b"vhdxfile":
        return "vhdx", None
    if head[:4] == b"KDMV":
        return "vmdk", None
    if head[:8] == b"conectix":
        return "vhd", None
    if head[0x40:0x44] == b"\x7f\x10\xda\xbe":
        return "vdi", None
    if head[0x8001:0x8006] == b"CD001":
        return "iso", None
    return "raw", size


def virtual_size(disk_format: str, container_format: str, head: bytes, size: int) -> int | None:
    """glance's in-flight format check of a ``bare`` upload: the virtual size,
    or ValueError with glance's text when the data is not in ``disk_format``."""
    if container_format != "bare":
        return None
    found, vsize = inspect(head, size)
    if found == disk_format:
        return vsize
    if found == "raw" and disk_format not in INSPECTABLE:
        return None
    if disk_format == "raw":
        # Data in a richer format uploaded as raw counts as raw bytes.
        return size
    raise ValueError("Image disk_format %s does not match stream data %s" % (disk_format, found))


def parse_range(header: str) -> tuple[int, int | None] | None:
    """A single ``bytes=`` range as webob parses it: (start, end exclusive or
    None), start negative for a suffix; None when the header is malformed."""
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "-" not in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if not first:
            return (-int(last), None) if int(last) > 0 else None
        start = int(first)
        end = int(last) + 1 if last else None
    except ValueError:
        return None
    if start < 0 or (end is not None and end <= start):
        return None
    return start, end


def span(wanted: tuple[int, int | None], size: int) -> tuple[int, int]:
    """glance's download serializer: (offset, length) of a parsed range."""
    start, end = wanted
    offset = start if start >= 0 else (size + start if -start < size else 0)
    if end is not None and end < size:
        return offset, end - offset
    return offset, size - offset
