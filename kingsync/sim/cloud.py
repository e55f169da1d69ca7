"""The simulated cloud: one shared Keystone and N regions, each on its own port.

``SimCloud`` owns the state and the listening sockets. It runs on an asyncio
loop, either as the ``kingsync-sim`` process or in a background thread of a
test process (``SimCloud.start_in_thread``).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import logging
import os
import random
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from kingsync.sim import compute, control, identity, image, network, volume
from kingsync.sim.faults import Faults

LOG = logging.getLogger(__name__)

REGION_NAMES = (
    "RegionOne",
    "RegionTwo",
    "RegionThree",
    "RegionFour",
    "RegionFive",
    "RegionSix",
    "RegionSeven",
    "RegionEight",
    "RegionNine",
    "RegionTen",
)

# The service modules each region serves, in catalog order. Each module has
# PREFIX (its path on the region's port), CATALOG ((type, name, path) rows),
# State (a dataclass of JSON-able fields) and make_app(cloud, region).
SERVICES = (compute, image, network, volume)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def region_names(count: int) -> list[str]:
    if count <= len(REGION_NAMES):
        return list(REGION_NAMES[:count])
    return list(REGION_NAMES) + ["Region%d" % i for i in range(len(REGION_NAMES) + 1, count + 1)]


@dataclasses.dataclass
class Region:
    name: str
    faults: Faults = dataclasses.field(default_factory=Faults)
    compute: compute.State = dataclasses.field(default_factory=compute.State)
    image: image.State = dataclasses.field(default_factory=image.State)
    network: network.State = dataclasses.field(default_factory=network.State)
    volume: volume.State = dataclasses.field(default_factory=volume.State)
    # Usage that stands for resources the simulator does not model (servers,
    # cores, RAM): service -> project -> resource -> count, set through the
    # control API so tests and benchmarks can put a project near its limits.
    extra_usage: dict[str, dict[str, dict[str, int]]] = dataclasses.field(default_factory=dict)
    # Glance's enabled_import_methods (set through the control API).
    image_import_methods: list[str] = dataclasses.field(default_factory=lambda: image.default_methods(True))
    # Requests served: "service METHOD" -> count (for benchmarks).
    stats: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    port: int = 0
    url: str = ""

    def usage_of(self, service: str, project_id: str, resource: str) -> int:
        return self.extra_usage.get(service, {}).get(project_id, {}).get(resource, 0)


class SimCloud:
    def __init__(
        self,
        regions: int | list[str] = 3,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | None = None,
        state_file: str | None = None,
        seed: int | None = None,
    ) -> None:
        names = region_names(regions) if isinstance(regions, int) else list(regions)
        self.host = host
        self.base_port = port
        self.state_file = state_file
        self.rng = random.Random(seed)
        self._own_data_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="kingsync-sim-"))
        self.identity = identity.State.bootstrap()
        # As on the devcloud, every region but the first can import by glance-download.
        self.regions: dict[str, Region] = {
            name: Region(name=name, image_import_methods=image.default_methods(index == 0))
            for index, name in enumerate(names)
        }
        self.identity_url = ""
        self._runners: list[web.AppRunner] = []
        self._region_sites: dict[str, web.TCPSite] = {}
        self._region_runners: dict[str, web.AppRunner] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        # Work the services do after answering (glance's imports), cancelled at stop.
        self._background: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None
        if state_file and os.path.exists(state_file):
            self.load(state_file)

    # -- catalog -------------------------------------------------------------

    @property
    def auth_url(self) -> str:
        return self.identity_url + "/v3"

    def catalog(self) -> list[dict[str, Any]]:
        """The service catalog as Keystone puts it in a token."""
        entries: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
        for region in self.regions.values():
            rows = [("identity", "keystone", self.auth_url)]
            for module in SERVICES:
                rows += [(stype, name, region.url + path) for stype, name, path in module.CATALOG]
            for stype, name, url in rows:
                for interface in ("public", "internal", "admin"):
                    entries[(stype, name)].append(
                        {
                            "id": identity.stable_id("endpoint", region.name, stype, interface),
                            "interface": interface,
                            "region": region.name,
                            "region_id": region.name,
                            "url": url,
                        }
                    )
        return [
            {"id": identity.stable_id("service", stype), "type": stype, "name": name, "endpoints": eps}
            for (stype, name), eps in entries.items()
        ]

    # -- serving ---------------------------------------------------------------

    def _region_app(self, region: Region) -> web.Application:
        app = web.Application(middlewares=[self._region_middleware], client_max_size=1024**3)
        app[REGION_KEY] = region
        for module in SERVICES:
            sub = module.make_app(self, region)
            sub[REGION_KEY] = region
            app.add_subapp(module.PREFIX, sub)
        return app

    @web.middleware
    async def _region_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        region = request.app[REGION_KEY]
        service = request.path.strip("/").partition("/")[0] or "root"
        region.stats[f"{service} {request.method}"] += 1
        faults = region.faults
        if faults.down:
            # Requests on a connection opened before the region went down are
            # dropped without an answer, as a dead host would.
            if request.transport is not None:
                request.transport.abort()
            raise web.HTTPServiceUnavailable()
        await faults.delay(self.rng)
        strike = faults.pick(self.rng)
        if strike == "timeout":
            await asyncio.sleep(faults.timeout_s)
            raise web.HTTPGatewayTimeout()
        if strike == "error":
            body = {"error": {"code": faults.error_status, "message": "injected fault in %s" % region.name}}
            return web.json_response(body, status=faults.error_status)
        return await handler(request)

    async def start(self) -> None:
        """Bind every port and serve. Ports are ``port`` (identity and control),
        then ``port + 1`` ... for the regions, or all ephemeral when ``port`` is 0."""
        ident = identity.make_app(self)
        control.add_routes(ident, self)
        runner = web.AppRunner(ident, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.base_port)
        await site.start()
        self._runners.append(runner)
        ident_port = _bound_port(runner)
        self.identity_url = f"http://{self.host}:{ident_port}/identity"
        for index, region in enumerate(self.regions.values(), start=1):
            port = self.base_port + index if self.base_port else 0
            runner = web.AppRunner(self._region_app(region), access_log=None, handler_cancellation=True)
            await runner.setup()
            site = web.TCPSite(runner, self.host, port)
            await site.start()
            region.port = _bound_port(runner)
            region.url = f"http://{self.host}:{region.port}"
            self._region_runners[region.name] = runner
            self._region_sites[region.name] = site
            self._runners.append(runner)
            if region.faults.down:
                await site.stop()
        LOG.info(
            "identity at %s; regions %s", self.auth_url, ", ".join(f"{r.name}={r.url}" for r in self.regions.values())
        )

    async def set_down(self, name: str, down: bool) -> None:
        """Close or reopen a region's port (connections refused while down, and
        the open ones cut, requests in flight included)."""
        region = self.regions[name]
        if region.faults.down == down:
            return
        region.faults.down = down
        runner = self._region_runners.get(name)
        if runner is None:
            return
        if down:
            await self._region_sites[name].stop()
            # A dead host answers nothing more: requests in flight (an upload
            # half sent) are cut off too, not only the ones still to come.
            server = runner.server
            for handler in list(server.connections) if server is not None else []:
                if handler.transport is not None:
                    handler.transport.abort()
        else:
            site = web.TCPSite(runner, self.host, region.port)
            await site.start()
            self._region_sites[name] = site

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` on the simulator's loop after the current answer."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self.state_file:
            self.save(self.state_file)
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- running in a thread (tests) -----------------------------------------------

    def start_in_thread(self) -> SimCloud:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the caller below
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="kingsync-sim", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def call(self, coro: Awaitable[Any]) -> Any:
        """Run a coroutine on the simulator's loop from another thread."""
        assert self._loop is not None, "not started in a thread"

        async def wrap() -> Any:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrap(), self._loop).result(30)

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop = None

    # -- clouds.yaml and persistence ---------------------------------------------

    def clouds_yaml(self) -> dict[str, Any]:
        """clouds.yaml content: an admin cloud and one per demo member."""
        regions = list(self.regions)

        def cloud(user: str, project: str) -> dict[str, Any]:
            return {
                "auth": {
                    "auth_url": self.auth_url,
                    "username": user,
                    "password": identity.DEMO_PASSWORDS[user],
                    "project_name": project,
                    "user_domain_name": "Default",
                    "project_domain_name": "Default",
                },
                "identity_api_version": 3,
                "interface": "public",
                "region_name": regions[0],
                "regions": regions,
            }

        return {
            "clouds": {
                "kingsync-sim-admin": cloud("admin", "admin"),
                "kingsync-sim-member": cloud("demo", "demo"),
                "kingsync-sim-member2": cloud("demo2", "demo2"),
            }
        }

    def write_clouds_yaml(self, path: str) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        header = "# Written by kingsync-sim. Use with OS_CLIENT_CONFIG_FILE=%s\n" % target
        target.write_text(header + yaml.safe_dump(self.clouds_yaml(), sort_keys=False))

    def save(self, path: str) -> None:
        doc = {
            "identity": self.identity.to_json(),
            "regions": {
                name: {
                    "extra_usage": region.extra_usage,
                    **{m.PREFIX.strip("/"): dataclasses.asdict(getattr(region, _attr(m))) for m in SERVICES},
                }
                for name, region in self.regions.items()
            },
        }
        tmp = path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(doc, handle)
        os.replace(tmp, path)

    def load(self, path: str) -> None:
        with open(path) as handle:
            doc = json.load(handle)
        self.identity = identity.State.from_json(doc["identity"])
        for name, saved in doc.get("regions", {}).items():
            region = self.regions.setdefault(name, Region(name=name))
            region.extra_usage = saved.get("extra_usage", {})
            for module in SERVICES:
                data = saved.get(module.PREFIX.strip("/"))
                if data is not None:
                    setattr(region, _attr(module), module.State(**data))


def _attr(module: Any) -> str:
    return str(module.__name__.rsplit(".", 1)[1])


def _bound_port(runner: web.AppRunner) -> int:
    addresses = runner.addresses
    return int(addresses[-1][1])


REGION_KEY = web.AppKey("region", Region)
