"""Per-region latency and fault injection, switchable at run time.

A region can be slow (fixed latency plus uniform jitter), flaky (a share of
requests answered with a 5xx), hanging (a share of requests held until the
client gives up) or down (its port closed, so connections are refused, and
requests already on an open connection are dropped without an answer).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

Json = dict[str, Any]


@dataclasses.dataclass
class Faults:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    timeout_rate: float = 0.0
    timeout_s: float = 60.0
    down: bool = False

    def update(self, changes: Json) -> None:
        """Apply a partial update, refusing unknown keys and bad values."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError("unknown fault setting(s): %s" % ", ".join(sorted(unknown)))
        candidate = dataclasses.replace(self, **changes)
        candidate.validate()
        for name, value in dataclasses.asdict(candidate).items():
            setattr(self, name, value)

    def validate(self) -> None:
        for name in ("latency_ms", "jitter_ms", "timeout_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError("%s must be a number >= 0" % name)
        for name in ("error_rate", "timeout_rate"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
                raise ValueError("%s must be a number between 0 and 1" % name)
        if not isinstance(self.error_status, int) or not 500 <= self.error_status <= 599:
            raise ValueError("error_status must be an integer 500-599")
        if not isinstance(self.down, bool):
            raise ValueError("down must be a boolean")

    def as_json(self) -> Json:
        return dataclasses.asdict(self)

    async def delay(self, rng: random.Random) -> None:
        """Sleep for this region's latency (fixed part plus uniform jitter)."""
        total = self.latency_ms + (rng.uniform(0, self.jitter_ms) if self.jitter_ms else 0.0)
        if total > 0:
            await asyncio.sleep(total / 1000.0)

    def pick(self, rng: random.Random) -> str | None:
        """Which fault, if any, strikes this request: ``"timeout"``, ``"error"`` or None."""
        if self.timeout_rate and rng.random() < self.timeout_rate:
            return "timeout"
        if self.error_rate and rng.random() < self.error_rate:
            return "error"
        return None
