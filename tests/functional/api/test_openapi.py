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
from kingsync.api.schemas import quota as quota_schema
from kingsync.api.schemas import sync as sync_schema
from tests.functional.api.conftest import Api, Persona, finish_job

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


# -- quotas ------------------------------------------------------------------------------------

QUOTA_EXAMPLES = [
    ("/v1.0/{project_id}/os-quota-sets/{target_id}", "put", "update", quota_schema.UPDATE, "QuotaSetUpdate"),
    ("/v1.0/{project_id}/os-quota-sets/{target_id}", "delete", "some", quota_schema.DELETE, "QuotaSetDelete"),
    (
        "/v1.0/{project_id}/os-quota-sets/{target_id}/dry-run",
        "post",
        "dry-run",
        quota_schema.UPDATE,
        "QuotaSetUpdate",
    ),
    (
        "/v1.0/{project_id}/os-quota-class-sets/{class_name}",
        "put",
        "update",
        quota_schema.CLASS_UPDATE,
        "QuotaClassSetUpdate",
    ),
    (
        "/v1.0/{project_id}/os-quota-sets/{target_id}/regions/{region}",
        "put",
        "pin",
        quota_schema.REGION_SETTING,
        "RegionSettingUpdate",
    ),
    (
        "/v1.0/{project_id}/os-quota-sets/{target_id}/policy",
        "put",
        "proportional",
        quota_schema.HEADROOM_POLICY,
        "HeadroomPolicyUpdate",
    ),
]


@pytest.mark.parametrize(("path", "method", "example", "code_schema", "name"), QUOTA_EXAMPLES)
def test_documented_quota_examples_pass_the_request_schemas_in_code(
    path: str, method: str, example: str, code_schema: dict[str, Any], name: str
) -> None:
    content = DOCUMENT["paths"][path][method]["requestBody"]["content"]["application/json"]
    body = content["examples"][example]["value"]
    jsonschema.Draft202012Validator(code_schema).validate(body)
    check(body, name)


def test_served_quota_responses_match_the_document(api: Api, admin: Persona) -> None:
    who = Api(api.url, admin)
    target = api.persona.project_id
    sets = "/v1.0/{project_id}/os-quota-sets"
    one = sets + "/{target_id}"
    region = one + "/regions/{region}"
    headroom = one + "/policy"
    klass = "/v1.0/{project_id}/os-quota-class-sets/{class_name}"

    def served(method: str, suffix: str, documented: str, **kwargs: Any) -> None:
        check_response(who.call(method, suffix, **kwargs), documented, method.lower())

    served("GET", "/os-quota-sets/defaults", sets + "/defaults")
    served("GET", "/os-quota-sets/" + target, one)
    served("PUT", "/os-quota-sets/" + target, one, json={"quota_set": {"cores": 40, "ram": -1}})
    served("PUT", "/os-quota-sets/" + target, one, json={"quota_set": {"cpus": 1}})  # 400
    served("GET", "/os-quota-sets/%s/detail" % target, one + "/detail")
    served("PUT", "/os-quota-sets/%s/sync" % target, one + "/sync")
    served("PUT", "/os-quota-sets/%s/refresh" % target, one + "/{action}")  # 404
    served("POST", "/os-quota-sets/%s/dry-run" % target, one + "/dry-run", json={"quota_set": {"cores": 12}})
    served(
        "PUT", "/os-quota-sets/%s/regions/RegionOne" % target, region, json={"region_setting": {"pins": {"cores": 5}}}
    )
    served("GET", "/os-quota-sets/%s/regions/RegionOne" % target, region)
    served("GET", "/os-quota-sets/%s/regions" % target, one + "/regions")
    served("DELETE", "/os-quota-sets/%s/regions/RegionOne" % target, region)
    served("DELETE", "/os-quota-sets/%s/regions/RegionOne" % target, region)  # 404
    served("PUT", "/os-quota-sets/%s/policy" % target, headroom, json={"headroom_policy": {"name": "proportional"}})
    served("GET", "/os-quota-sets/%s/policy" % target, headroom)
    served("DELETE", "/os-quota-sets/%s/policy" % target, headroom)
    served("GET", "/os-quota-sets/%s/audit" % target, one + "/audit", params={"limit": 3})
    served("DELETE", "/os-quota-sets/" + target, one, json={"quota_set": ["cores"]})
    served("DELETE", "/os-quota-sets/" + target, one)
    served("DELETE", "/os-quota-sets/" + target, one)  # 404
    served("PUT", "/os-quota-class-sets/gold", klass, json={"quota_class_set": {"cores": 64}})
    served("GET", "/os-quota-class-sets/gold", klass)
    served("DELETE", "/os-quota-class-sets/gold", klass)
    served("DELETE", "/os-quota-class-sets/gold", klass)  # 404
