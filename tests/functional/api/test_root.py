"""What kingsync-api answers outside /v1.0: version document, health, unknown paths, limits."""

from __future__ import annotations

import oslo_messaging as messaging
import pytest
import requests

from kingsync.api import app
from kingsync.conf import CONF
from tests.functional.api.conftest import Api, Override, Persona, serve


def test_version_document_is_kingbirds_with_a_link_to_v1_0(api_url: str) -> None:
    resp = requests.get(api_url + "/", timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {
        "versions": [
            {
                "status": "CURRENT",
                "links": [{"rel": "self", "href": api_url + "/v1.0/"}],
                "id": "v1.0",
                "updated": "2016-03-07",
            }
        ]
    }


def test_version_document_links_follow_proxy_headers_when_enabled(api_url: str, override: Override) -> None:
    override("oslo_middleware", enable_proxy_headers_parsing=True)
    resp = requests.get(
        api_url + "/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sync.example.org"}, timeout=10
    )
    assert resp.json()["versions"][0]["links"][0]["href"] == "https://sync.example.org/v1.0/"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "HEAD"])
def test_other_methods_on_root_are_405(api_url: str, method: str) -> None:
    resp = requests.request(method, api_url + "/", timeout=10)
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET"
    if method != "HEAD":
        assert resp.json()["error"]["code"] == 405


def test_healthcheck_answers_without_credentials(api_url: str) -> None:
    resp = requests.get(api_url + "/healthcheck", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")


def test_unknown_path_is_a_json_404(api: Api) -> None:
    resp = requests.get(
        api.url + "/v1.0/%s/os-nothing" % api.persona.project_id, headers=api.persona.headers, timeout=10
    )
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "not_found"


def test_every_response_carries_a_request_id(api: Api) -> None:
    ok = api.request("GET", "/")
    failed = api.request("GET", "/not-a-uuid")
    assert ok.headers["X-OpenStack-Request-Id"].startswith("req-")
    assert failed.headers["X-OpenStack-Request-Id"].startswith("req-")
    assert ok.headers["X-OpenStack-Request-Id"] != failed.headers["X-OpenStack-Request-Id"]


def test_body_over_the_limit_is_a_json_413(api: Api, override: Override) -> None:
    override("api", max_request_body_size=2048)
    resp = api.request("POST", "/", data=b"{" + b" " * 4096 + b"}", headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert resp.json()["error"]["type"] == "body_too_large"


def test_chunked_body_over_the_limit_is_a_json_413(api: Api, override: Override) -> None:
    override("api", max_request_body_size=2048)
    chunks = (b" " * 1024 for _ in range(8))
    resp = api.request("POST", "/", data=chunks, headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert resp.json()["error"]["type"] == "body_too_large"


def test_request_without_identity_in_noauth_mode_is_401(api_url: str, api: Api) -> None:
    resp = requests.get(api.sync_url("/"), timeout=10)
    assert resp.status_code == 401
    assert "X-User-Id" in resp.json()["error"]["message"]


def test_cors_preflight_is_answered_without_credentials(
    configured: None, transport: messaging.Transport, override: Override, demo: Persona
) -> None:
    override("cors", allowed_origin=["https://dashboard.example.org"])
    url, stop = serve(app.create_app(CONF, transport=transport))
    try:
        resp = requests.options(
            url + "/v1.0/%s/os-sync/" % demo.project_id,
            headers={
                "Origin": "https://dashboard.example.org",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "X-Auth-Token,Content-Type",
            },
            timeout=10,
        )
    finally:
        stop()
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "https://dashboard.example.org"
    assert "X-Auth-Token" in resp.headers["Access-Control-Allow-Headers"]
