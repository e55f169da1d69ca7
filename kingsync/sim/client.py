"""A small client for the simulator's control API, for tests and benchmarks."""

from __future__ import annotations

from typing import Any

import requests


class SimControl:
    """Talks to ``/sim/v1`` of a running kingsync-sim (``base`` is its identity root URL
    or any URL on the identity port, e.g. the clouds.yaml ``auth_url``)."""

    def __init__(self, base: str, timeout: float = 10.0) -> None:
        scheme, _, rest = base.partition("://")
        self.root = f"{scheme}://{rest.split('/', 1)[0]}/sim/v1"
        self.timeout = timeout
        self.http = requests.Session()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.http.request(method, self.root + path, json=body, timeout=self.timeout)
        if resp.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text}")
        return resp.json() if resp.content else None

    def regions(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/regions")["regions"])

    def set_faults(self, region: str, **faults: Any) -> dict[str, Any]:
        """E.g. ``set_faults("RegionTwo", latency_ms=50, error_rate=0.1)`` or ``down=True``."""
        return dict(self._call("PUT", f"/regions/{region}/faults", faults))

    def clear_faults(self, region: str) -> dict[str, Any]:
        return dict(self._call("DELETE", f"/regions/{region}/faults"))

    def set_import_methods(self, region: str, methods: list[str]) -> dict[str, Any]:
        """Glance's enabled import methods in ``region``, e.g. ``["glance-direct", "glance-download"]``."""
        return dict(self._call("PUT", f"/regions/{region}/import-methods", {"import_methods": methods}))

    def set_usage(self, region: str, project_id: str, **services: dict[str, int]) -> dict[str, Any]:
        """E.g. ``set_usage("RegionOne", pid, compute={"cores": 4, "ram": 2048})``."""
        return dict(self._call("PUT", f"/regions/{region}/usage/{project_id}", services))

    def create_projects(self, count: int, prefix: str = "project") -> list[str]:
        return list(self._call("POST", "/projects", {"count": count, "prefix": prefix})["projects"])

    def stats(self) -> dict[str, dict[str, int]]:
        return dict(self._call("GET", "/stats")["regions"])

    def reset_stats(self) -> None:
        self._call("DELETE", "/stats")
