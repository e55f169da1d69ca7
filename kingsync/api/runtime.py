"""What handlers need from the running service, set once by create_app."""

from __future__ import annotations

import dataclasses
from typing import cast

import flask
from oslo_config import cfg
from oslo_policy import policy

from kingsync.rpc import EngineClient

KEY = "kingsync"


@dataclasses.dataclass(frozen=True)
class Runtime:
    conf: cfg.ConfigOpts
    enforcer: policy.Enforcer
    engine: EngineClient
    database_url: str


def get() -> Runtime:
    return cast(Runtime, flask.current_app.extensions[KEY])
