"""OpenStackQuotas.groups: one neutron listing, its answer checked, its failures as RegionError.

Against a stub connection: the call made and the answers a service may give.
The real neutron and the simulator answer it in tests/integration/test_quotas.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from kingsync.quota.model import RegionError
from kingsync.quota.regional import OpenStackQuotas


class Proxy:
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, path: str, method: str, **options: Any) -> requests.Response:
        self.calls.append((path, method, options))
        resp = requests.Response()
        resp.status_code = self.status
        resp._content = json.dumps(self.body).encode()
        resp.headers["Content-Type"] = "application/json"
        return resp


class Connection:
    def __init__(self, network: Proxy) -> None:
        self.network = network


def client(proxy: Proxy) -> OpenStackQuotas:
    return OpenStackQuotas(lambda region: Connection(proxy))  # type: ignore[arg-type, return-value]


def test_one_get_of_the_projects_groups_with_their_rules() -> None:
    groups = [{"id": "g1", "security_group_rules": [{"id": "r1", "direction": "egress"}]}]
    proxy = Proxy(200, {"security_groups": groups})
    assert client(proxy).groups("RegionOne", "p/1") == groups
    ((path, method, options),) = proxy.calls
    assert (path, method) == ("/security-groups?project_id=p%2F1", "GET")
    assert options["connect_retries"] == 0 and options["skip_cache"] is True


@pytest.mark.parametrize("body", [{}, {"security_groups": {}}, {"security_groups": [{"name": "no id"}]}, []])
def test_an_answer_without_a_list_of_groups_is_an_error(body: Any) -> None:
    error = pytest.raises(RegionError, client(Proxy(200, body)).groups, "RegionOne", "p1").value
    assert not error.refused and error.service == "neutron"


def test_a_refusal_is_neutrons_own_words() -> None:
    body = {"NeutronError": {"type": "HTTPForbidden", "message": "Not allowed"}}
    error = pytest.raises(RegionError, client(Proxy(403, body)).groups, "RegionOne", "p1").value
    assert error.refused and error.message == "Not allowed"
