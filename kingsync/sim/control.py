"""The simulator's control API, beside Keystone on the identity port.

Not an OpenStack API: tests and benchmarks use it to fail, slow down or
restore a region, to change the import methods its glance offers, to stand
in usage for resources the simulator does not model (servers, cores, RAM),
to create many projects at once and to read request counts. Served without
authentication, on loopback.

    GET    /sim/v1/regions                      regions, ports and faults
    PUT    /sim/v1/regions/{region}/faults      {"latency_ms": 50, "down": true, ...}
    DELETE /sim/v1/regions/{region}/faults      back to healthy
    PUT    /sim/v1/regions/{region}/usage/{project}
                                                {"compute": {"cores": 4}, "volume": {...}}
    PUT    /sim/v1/regions/{region}/import-methods
                                                {"import_methods": ["glance-direct", ...]}
    POST   /sim/v1/projects                     {"count": 1000, "prefix": "bench"}
    GET    /sim/v1/stats                        requests served per region
    DELETE /sim/v1/stats                        reset the counters
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from aiohttp import web

from kingsync.sim import wire
from kingsync.sim.image.imports import METHODS
from kingsync.sim.wire import Json

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region, SimCloud

USAGE_SERVICES = ("compute", "network", "volume")


def _fault(status: int, message: str) -> NoReturn:
    wire.keystone_fault(status, message)


def add_routes(app: web.Application, cloud: SimCloud) -> None:
    def region_of(request: web.Request) -> Region:
        region = cloud.regions.get(request.match_info["region"])
        if region is None:
            _fault(404, "no region %s; regions are %s" % (request.match_info["region"], ", ".join(cloud.regions)))
        return region

    def describe(region: Region) -> Json:
        return {
            "name": region.name,
            "url": region.url,
            "port": region.port,
            "faults": region.faults.as_json(),
            "import_methods": region.image_import_methods,
        }

    async def list_regions(request: web.Request) -> web.Response:
        return wire.json_response(
            {"regions": [describe(r) for r in cloud.regions.values()], "auth_url": cloud.auth_url}
        )

    async def set_faults(request: web.Request) -> web.Response:
        region = region_of(request)
        body = await wire.read_json(request, _fault)
        down = body.pop("down", None)
        try:
            region.faults.update(body)
            if down is not None:
                if not isinstance(down, bool):
                    raise ValueError("down must be a boolean")
                await cloud.set_down(region.name, down)
        except ValueError as exc:
            _fault(400, str(exc))
        return wire.json_response(describe(region))

    async def clear_faults(request: web.Request) -> web.Response:
        region = region_of(request)
        await cloud.set_down(region.name, False)
        region.faults.update({"latency_ms": 0.0, "jitter_ms": 0.0, "error_rate": 0.0, "timeout_rate": 0.0})
        return wire.json_response(describe(region))

    async def set_usage(request: web.Request) -> web.Response:
        region = region_of(request)
        project_id = request.match_info["project"]
        body = await wire.read_json(request, _fault)
        for service, counts in body.items():
            if service not in USAGE_SERVICES:
                _fault(400, "usage service must be one of %s, not %s" % (", ".join(USAGE_SERVICES), service))
            if not isinstance(counts, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()
            ):
                _fault(400, "usage for %s must map resource names to integers >= 0" % service)
        for service, counts in body.items():
            region.extra_usage.setdefault(service, {}).setdefault(project_id, {}).update(counts)
        return wire.json_response(
            {
                "region": region.name,
                "project_id": project_id,
                "usage": {s: region.extra_usage.get(s, {}).get(project_id, {}) for s in USAGE_SERVICES},
            }
        )

    async def set_import_methods(request: web.Request) -> web.Response:
        """Glance's enabled_import_methods in the region, in the order given."""
        region = region_of(request)
        body = await wire.read_json(request, _fault)
        methods = body.get("import_methods")
        if (
            set(body) != {"import_methods"}
            or not isinstance(methods, list)
            or not all(m in METHODS for m in methods)
            or len(set(methods)) != len(methods)
        ):
            _fault(
                400, "import_methods must be a list of distinct methods from %s, and nothing else" % ", ".join(METHODS)
            )
        region.image_import_methods = list(methods)
        return wire.json_response(describe(region))

    async def create_projects(request: web.Request) -> web.Response:
        body = await wire.read_json(request, _fault)
        count, prefix = body.get("count"), body.get("prefix", "project")
        if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= 100000:
            _fault(400, "count must be an integer from 1 to 100000")
        if not isinstance(prefix, str) or not prefix:
            _fault(400, "prefix must be a non-empty string")
        created = []
        for index in range(count):
            name = "%s-%05d" % (prefix, index)
            if cloud.identity.project_id_by_name(name):
                _fault(409, "project %s exists already" % name)
            project = cloud.identity.create_project(name)
            created.append(project["id"])
        return wire.json_response({"projects": created}, status=201)

    async def stats(request: web.Request) -> web.Response:
        return wire.json_response({"regions": {n: dict(r.stats) for n, r in cloud.regions.items()}})

    async def reset_stats(request: web.Request) -> web.Response:
        for region in cloud.regions.values():
            region.stats.clear()
        return wire.empty()

    app.router.add_get("/sim/v1/regions", list_regions)
    app.router.add_put("/sim/v1/regions/{region}/faults", set_faults)
    app.router.add_delete("/sim/v1/regions/{region}/faults", clear_faults)
    app.router.add_put("/sim/v1/regions/{region}/usage/{project}", set_usage)
    app.router.add_put("/sim/v1/regions/{region}/import-methods", set_import_methods)
    app.router.add_post("/sim/v1/projects", create_projects)
    app.router.add_get("/sim/v1/stats", stats)
    app.router.add_delete("/sim/v1/stats", reset_stats)
