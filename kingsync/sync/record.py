"""The id record as one item sees it, kept in the database (kingsync.db.copies).

Each call is its own short transaction: a copy is on record the moment the
call returns, whatever happens to the item afterwards.
"""

from __future__ import annotations

from kingsync.db import copies
from kingsync.db.session import transaction
from kingsync.sync.task import Copy


class DbRecord:
    """kingsync.sync.task.Record for one item: its kind, scope and regions."""

    def __init__(
        self, kind: str, scope: str, source_region: str, target_region: str, item_id: str, db_url: str | None = None
    ) -> None:
        self.kind = kind
        self.scope = scope
        self.source_region = source_region
        self.target_region = target_region
        self.item_id = item_id
        self.db_url = db_url

    def _key(self, source_id: str, source_region: str | None, target_region: str | None) -> copies.Key:
        return copies.Key(
            self.kind, self.scope, source_region or self.source_region, source_id, target_region or self.target_region
        )

    def find(
        self, source_id: str, *, source_region: str | None = None, target_region: str | None = None
    ) -> Copy | None:
        key = self._key(source_id, source_region, target_region)
        with transaction(self.db_url) as session:
            found = copies.find(session, key)
        if found is None:
            return None
        return Copy(key.source_region, key.source_id, key.target_region, found.target_id, found.complete)

    def keep(
        self,
        source_id: str,
        target_id: str,
        *,
        complete: bool,
        source_region: str | None = None,
        target_region: str | None = None,
    ) -> None:
        key = self._key(source_id, source_region, target_region)
        with transaction(self.db_url) as session:
            copies.keep(session, key, target_id, complete, self.item_id)

    def forget(self, source_id: str, *, source_region: str | None = None, target_region: str | None = None) -> None:
        with transaction(self.db_url) as session:
            copies.forget(session, self._key(source_id, source_region, target_region))
