"""The id record in memory, for a kind's I/O shell tested against stand-in regions."""

from __future__ import annotations

from kingsync.sync.task import Copy


class MemoryRecord:
    """kingsync.sync.task.Record for one item, kept in a dict; ``writes`` lists every keep and forget."""

    def __init__(self, source_region: str = "RegionOne", target_region: str = "RegionTwo") -> None:
        self.source_region = source_region
        self.target_region = target_region
        self.copies: dict[tuple[str, str, str], Copy] = {}
        self.writes: list[tuple[str, str, str | None, bool | None]] = []  # (verb, source id, target id, complete)

    def _key(self, source_id: str, source_region: str | None, target_region: str | None) -> tuple[str, str, str]:
        return (source_region or self.source_region, source_id, target_region or self.target_region)

    def find(
        self, source_id: str, *, source_region: str | None = None, target_region: str | None = None
    ) -> Copy | None:
        return self.copies.get(self._key(source_id, source_region, target_region))

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
        self.copies[key] = Copy(key[0], source_id, key[2], target_id, complete)
        self.writes.append(("keep", source_id, target_id, complete))

    def forget(self, source_id: str, *, source_region: str | None = None, target_region: str | None = None) -> None:
        self.copies.pop(self._key(source_id, source_region, target_region), None)
        self.writes.append(("forget", source_id, None, None))
