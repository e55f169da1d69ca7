"""``/os-keypairs``: SSH and x509 keypairs, kept per user (not per project).

Microversions: 2.2 adds ``type`` (and 201/204 codes), 2.10 lets an admin act
for another ``user_id``, 2.35 pages the list (``limit``/``marker``), 2.92
stops generating keys (``public_key`` required, ``@`` and ``.`` allowed in
names).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kingsync.sim import wire
from kingsync.sim.compute import api, quotas, schema
from kingsync.sim.compute.api import fault
from kingsync.sim.wire import Json

_NAME = {"allOf": [schema.NAME, {"type": "string", "pattern": r"^[_\- a-zA-Z0-9]+$", "minLength": 1, "maxLength": 255}]}
_NAME_V292 = {
    "allOf": [schema.NAME, {"type": "string", "pattern": r"^[_\-\@\. a-zA-Z0-9]+$", "minLength": 1, "maxLength": 255}]
}
_TYPE = {"type": "string", "enum": ["ssh", "x509"]}


def _create_schema(properties: Json, required: list[str]) -> schema.Schema:
    return {
        "type": "object",
        "properties": {
            "keypair": {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
        },
        "required": ["keypair"],
        "additionalProperties": False,
    }


_CREATE = [
    ("2.1", _create_schema({"name": _NAME, "public_key": {"type": "string"}}, ["name"])),
    ("2.2", _create_schema({"name": _NAME, "type": _TYPE, "public_key": {"type": "string"}}, ["name"])),
    (
        "2.10",
        _create_schema(
            {"name": _NAME, "type": _TYPE, "public_key": {"type": "string"}, "user_id": {"type": "string"}}, ["name"]
        ),
    ),
    (
        "2.92",
        _create_schema(
            {"name": _NAME_V292, "type": _TYPE, "public_key": {"type": "string"}, "user_id": {"type": "string"}},
            ["name", "public_key"],
        ),
    ),
]

_INDEX = ("name", "public_key", "fingerprint")
_SHOW = (*_INDEX, "user_id", "created_at", "deleted", "deleted_at", "id", "updated_at")


def ssh_fingerprint(public_key: str) -> str:
    """nova's ``crypto.generate_fingerprint``: md5 of the key blob, colon hex."""
    try:
        serialization.load_ssh_public_key(public_key.encode("utf-8"))
        blob = base64.b64decode(public_key.split(" ")[1])
    except Exception:  # nova turns every failure into the same message
        fault(400, "Keypair data is invalid: failed to generate fingerprint")
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).hexdigest())


def x509_fingerprint(pem: str) -> str:
    """nova's ``crypto.generate_x509_fingerprint``: sha1 of the certificate."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("utf-8"))
    except (ValueError, TypeError, binascii.Error) as exc:
        fault(400, "Keypair data is invalid: failed to generate X509 fingerprint. Error message: %s" % exc)
    return _colon_hex(binascii.hexlify(cert.fingerprint(hashes.SHA1())).decode("ascii"))  # noqa: S303


def _colon_hex(digest: str) -> str:
    return ":".join(a + b for a, b in zip(digest[::2], digest[1::2], strict=True))


def _generate_ssh() -> tuple[str, str]:
    """A new RSA key as nova (paramiko) writes it: traditional PEM and an
    OpenSSH public key tagged "Generated-by-Nova"."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, public + " Generated-by-Nova"


def _generate_x509(user_id: str) -> tuple[str, str]:
    """A WinRM client certificate for ``user_id``; the private key is a
    base64 PKCS#12 bundle with an empty password, as nova returns it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    now = datetime.datetime.now(datetime.UTC)
    principal = (user_id + "@localhost").encode()
    # The UPN is a DER UTF8String (short form length: user ids are short).
    upn = x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), b"\x0c" + bytes([len(principal)]) + principal)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([upn]), critical=False)
        .sign(key, hashes.SHA256())
    )
    bundle = pkcs12.serialize_key_and_certificates(None, key, cert, None, serialization.NoEncryption())
    return base64.b64encode(bundle).decode("ascii"), cert.public_bytes(serialization.Encoding.PEM).decode()


class Keypairs(api.Service):
    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v2.1/os-keypairs", self.index)
        app.router.add_post("/v2.1/os-keypairs", self.create)
        app.router.add_get("/v2.1/os-keypairs/{name}", self.show)
        app.router.add_delete("/v2.1/os-keypairs/{name}", self.delete)

    def _user_id(self, request: web.Request, action: str) -> str:
        """The user acted on (``user_id`` query from 2.10), after the policy check."""
        ctx = api.caller(request)
        wanted = api.param(request, "user_id") if api.at_least(request, "2.10") else None
        user_id = wanted or ctx.user_id
        api.authorize(ctx.is_admin or user_id == ctx.user_id, "os_compute_api:os-keypairs:%s" % action)
        return user_id

    def _view(self, request: web.Request, keypair: Json, fields: tuple[str, ...]) -> Json:
        if api.at_least(request, "2.2"):
            fields = (*fields, "type")
        return {name: keypair[name] for name in fields}

    async def index(self, request: web.Request) -> web.Response:
        query: Json = {}
        if api.at_least(request, "2.10"):
            query["user_id"] = schema.multi({"type": "string"})
        paged = api.at_least(request, "2.35")
        if paged:
            query.update(limit=schema.multi(schema.NON_NEGATIVE_INTEGER), marker=schema.multi({"type": "string"}))
        api.check_query(request, query)
        user_id = self._user_id(request, "index")
        keypairs = sorted(self.state.keypairs.get(user_id, {}).values(), key=lambda k: api.fold(k["name"]))
        if paged:
            keypairs = self._page(request, keypairs)
        out: Json = {"keypairs": [{"keypair": self._view(request, k, _INDEX)} for k in keypairs]}
        if paged:
            links = self.next_link(request, "os-keypairs", len(keypairs), keypairs[-1]["name"] if keypairs else None)
            if links:
                out["keypairs_links"] = links
        return wire.json_response(out)

    def _page(self, request: web.Request, keypairs: list[Json]) -> list[Json]:
        limit = api.parse_limit(request)
        marker = api.param(request, "marker")
        if marker is not None:
            names = [api.fold(k["name"]) for k in keypairs]
            if api.fold(marker) not in names:
                fault(400, "Marker %s could not be found." % marker)
            keypairs = keypairs[names.index(api.fold(marker)) + 1 :]
        count = min(api.MAX_LIMIT, limit if limit is not None else api.MAX_LIMIT)
        return keypairs[:count]

    async def create(self, request: web.Request) -> web.Response:
        data = await api.body(request, api.pick(request, _CREATE))
        params = data["keypair"]
        ctx = api.caller(request)
        user_id = (params.get("user_id") if api.at_least(request, "2.10") else None) or ctx.user_id
        api.authorize(ctx.is_admin or user_id == ctx.user_id, "os_compute_api:os-keypairs:create")
        name = params["name"].strip()
        key_type = params.get("type", "ssh")
        owned = self.state.keypairs.get(user_id, {})
        # nova counts the target user's keypairs against the *caller's* limit
        # (check_deltas is not told the user id it counted for).
        limit = quotas.Limits(self.cloud, self.region).user_limit(ctx.project_id, ctx.user_id, "key_pairs")
        if 0 <= limit < len(owned) + 1:
            fault(403, "Quota exceeded, too many key pairs.")
        private_key = None
        if "public_key" in params:
            public_key = params["public_key"]
        elif key_type == "ssh":
            private_key, public_key = _generate_ssh()
        else:
            private_key, public_key = _generate_x509(user_id)
        fingerprint = ssh_fingerprint(public_key) if key_type == "ssh" else x509_fingerprint(public_key)
        if api.fold(name) in owned:
            fault(409, "Key pair '%s' already exists." % name)
        keypair = {
            "id": self.state.next_id("keypairs"),
            "name": name,
            "user_id": user_id,
            "type": key_type,
            "public_key": public_key,
            "fingerprint": fingerprint,
            "created_at": api.timestamp(),
            "updated_at": None,
            "deleted_at": None,
            "deleted": False,
        }
        self.state.keypairs.setdefault(user_id, {})[api.fold(name)] = keypair
        view = self._view(request, keypair, (*_INDEX, "user_id"))
        if private_key is not None:
            view["private_key"] = private_key
        return wire.json_response({"keypair": view}, status=201 if api.at_least(request, "2.2") else 200)

    def _find(self, request: web.Request, user_id: str) -> Json:
        name = request.match_info["name"]
        keypair = self.state.keypairs.get(user_id, {}).get(api.fold(name))
        if keypair is None:
            fault(404, "Keypair %s not found for user %s" % (name, user_id))
        return keypair

    async def show(self, request: web.Request) -> web.Response:
        query = {"user_id": schema.multi({"type": "string"})} if api.at_least(request, "2.10") else {}
        api.check_query(request, query)
        keypair = self._find(request, self._user_id(request, "show"))
        return wire.json_response({"keypair": self._view(request, keypair, _SHOW)})

    async def delete(self, request: web.Request) -> web.Response:
        query = {"user_id": schema.multi({"type": "string"})} if api.at_least(request, "2.10") else {}
        api.check_query(request, query)
        user_id = self._user_id(request, "delete")
        keypair = self._find(request, user_id)
        owned = self.state.keypairs[user_id]
        del owned[api.fold(keypair["name"])]
        if not owned:
            del self.state.keypairs[user_id]
        return wire.empty(204 if api.at_least(request, "2.2") else 202)
