"""One module per resource kind; each has ``sync(task, connect) -> Outcome``."""

from __future__ import annotations

from collections.abc import Callable

from kingsync.engine.sync import keypair
from kingsync.engine.task import Connect, Outcome, Task

SyncFunction = Callable[[Task, Connect], Outcome]

# resource_type (as the API stores it in the item) -> how to sync it
KINDS: dict[str, SyncFunction] = {
    "keypair": keypair.sync,
}
