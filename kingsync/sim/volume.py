"""Simulated volume service (stub: to be filled in)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from aiohttp import web

from kingsync.sim import auth

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region, SimCloud

PREFIX = "/volume"
CATALOG = [("block-storage", "cinder", "/volume/v3"), ("volumev3", "cinderv3", "/volume/v3")]


@dataclasses.dataclass
class State:
    pass


def make_app(cloud: SimCloud, region: Region) -> web.Application:
    return web.Application(middlewares=[auth.middleware(cloud)])
