"""api-ref/openapi.yaml describes the API that runs: its paths are the route
table's, its examples pass the real request schema, and real responses
validate against its response schemas."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import yaml

from kingsync.api import errors, routes
from kingsync.api.schemas import sync as sync_schema
from tests.functional.api.conftest import Api, finish_job

DOCUMENT = yaml.safe_load((Path(__file__).parents[3] / "api-ref" / "openapi.yaml").read_text())
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head"}


def check(instance: Any, schema_name: str) -> None:
    """Validate against a component schema, its $refs resolved within the document."""
    schema = {"$ref": "#/components/schemas/" + schema_name, "components": DOCUMENT["components"]}
    jsonschema.Draft202012Validator(schema).validate(instance)


def check_response(resp: requests.Response, path: str, method: str) -> None:
    documented = DOCUMENT["paths"][path][method]["responses"][str(resp.status_code)]
    if "$ref" in documented:
        documented = DOCUMENT["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    schema = documented["content"]["application/json"]["schema"]
    wrapped = {**schema, "components": DOCUMENT["components"]}
    jsonschema.Draft202012Validator(wrapped).validate(resp.json())


def test_documented_paths_and_methods_are_the_route_tables() -> None:
    served = {re.sub(r"<(\w+)>", r"{\1}", path): set(handlers) for path, handlers in routes.ROUTES.items()}
    documented = {
        path: {method.upper() for method in operations if method in HTTP_METHODS}
        for path, operations in DOCUMENT["paths"].items()
    }
    assert documented == served


def test_documented_error_types_are_the_error_modules() -> None:
    constants = {value for name, value in vars(errors).items() if name.isupper() and isinstance(value, str)}
    assert set(DOCUMENT["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["type"]["enum"]) == (
        constants
    )


@pytest.mark.parametrize("example", ["single", "template"])
def test_documented_examples_pass_the_request_schema_in_code(example: str) -> None:
    content = DOCUMENT["paths"]["/v1.0/{project_id}/os-sync"]["post"]["requestBody"]["content"]["application/json"]
    body = content["examples"][example]["value"]
    jsonschema.Draft202012Validator(sync_schema.CREATE).validate(body)
    check(body, "CreateJob")


def test_served_responses_match_the_document(api: Api, keypair: str, db_url: str) -> None:
    collection = "/v1.0/{project_id}/os-sync"
    one = collection + "/{job_id}"
    check_response(requests.get(api.url + "/", timeout=10), "/", "get")
    body = {"resource_type": "keypair", "resources": [keypair], "source": "RegionOne", "target": ["RegionTwo"]}
    created = api.create(body)
    check_response(created, collection, "post")
    job_id = created.json()["job_status"]["id"]
    check_response(api.request("GET", "/"), collection, "get")
    check_response(api.request("GET", "/active"), collection + "/active", "get")
    check_response(api.request("GET", "/" + job_id), one, "get")
    check_response(api.request("DELETE", "/" + job_id), one, "delete")  # 406
    finish_job(db_url, job_id, result="unchanged")
    check_response(api.request("GET", "/" + job_id), one, "get")
    check_response(api.request("DELETE", "/" + job_id), one, "delete")  # 200
    check_response(api.request("GET", "/" + job_id), one, "get")  # 404
    check_response(api.create({**body, "target": []}), collection, "post")  # 400
