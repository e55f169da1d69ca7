"""Work only one item may do at a time, across every engine (kingsync.db.locks).

Two items of one project syncing security groups to one region at once
could both create a group their rules refer to; the security group kind
holds ``security_group/<project>/<region>`` while it writes. An item that
finds the name held waits a little (the holder is usually done in seconds),
then gives up for now: RetryLater, tried again with backoff.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator

from kingsync.db import locks
from kingsync.db.session import transaction
from kingsync.sync.errors import RetryLater

# A lock's name as stored: longer names are kept as their digest.
MAX_NAME = 255


class DbExclusive:
    """kingsync.sync.task.Exclusive for one item, held in the database."""

    def __init__(self, item_id: str, db_url: str | None = None, wait: float = 30.0, interval: float = 0.2) -> None:
        self.item_id = item_id
        self.db_url = db_url
        self.wait = wait
        self.interval = interval

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        stored = name if len(name) <= MAX_NAME else hashlib.sha256(name.encode()).hexdigest()
        deadline = time.monotonic() + self.wait
        while not self._acquire(stored):
            if time.monotonic() >= deadline:
                raise RetryLater(
                    "Another item held %s for more than %.0f s (it is still working on it); "
                    "this one is tried again later." % (name, self.wait)
                )
            time.sleep(self.interval)
        try:
            yield
        finally:
            with transaction(self.db_url) as session:
                locks.release(session, stored, self.item_id)

    def _acquire(self, name: str) -> bool:
        with transaction(self.db_url) as session:
            return locks.acquire(session, name, self.item_id)
