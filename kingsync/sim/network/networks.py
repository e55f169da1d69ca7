"""/v2.0/networks and /v2.0/ports, as ML2 with the flat and vlan type drivers
and no project network types serves them: admins create flat provider
networks; anything else finds no network to allocate (503). Ports get no
addresses (there are no subnets) and stay DOWN.

The simulator starts every region with one shared flat network,
``provider`` (owned by the admin project), which the devcloud does not have.
"""

from __future__ import annotations

import random
import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from kingsync.sim import auth, wire
from kingsync.sim.network import api
from kingsync.sim.network.groups import Groups
from kingsync.sim.network.state import State, link, unlink
from kingsync.sim.wire import Json

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region, SimCloud

PROVIDER_NETWORK = "provider"
_PROVIDER_KEYS = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
_NETWORK_ATTRS = (
    "id",
    "name",
    "tenant_id",
    "project_id",
    "admin_state_up",
    "mtu",
    "status",
    "subnets",
    "shared",
    "port_security_enabled",
    "router:external",
    *_PROVIDER_KEYS,
    "vlan_transparent",
    "qinq",
    "availability_zone_hints",
    "availability_zones",
    "ipv4_address_scope",
    "ipv6_address_scope",
    "description",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
)
_NETWORK_POST = (
    "name",
    "tenant_id",
    "project_id",
    "admin_state_up",
    "mtu",
    "shared",
    "port_security_enabled",
    "router:external",
    *_PROVIDER_KEYS,
    "vlan_transparent",
    "qinq",
    "availability_zone_hints",
    "description",
    "segments",
    "dns_domain",
    "qos_policy_id",
    "is_default",
)
# The binding attributes only an admin sees (binding:vnic_type is public).
_ADMIN_BINDING = ("binding:profile", "binding:host_id", "binding:vif_type", "binding:vif_details")
_PORT_ATTRS = (
    "id",
    "name",
    "network_id",
    "project_id",
    "mac_address",
    "admin_state_up",
    "status",
    "device_id",
    "device_owner",
    "fixed_ips",
    "allowed_address_pairs",
    "extra_dhcp_opts",
    "security_groups",
    "description",
    "binding:vnic_type",
    *_ADMIN_BINDING,
    "port_security_enabled",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
    "tenant_id",
)
_PORT_POST = (
    "name",
    "network_id",
    "tenant_id",
    "project_id",
    "mac_address",
    "admin_state_up",
    "device_id",
    "device_owner",
    "fixed_ips",
    "allowed_address_pairs",
    "extra_dhcp_opts",
    "security_groups",
    "description",
    "binding:vnic_type",
    "binding:profile",
    "binding:host_id",
    "port_security_enabled",
)


class Networks:
    def __init__(self, cloud: SimCloud, region: Region) -> None:
        self.cloud = cloud
        self.region = region

    @property
    def state(self) -> State:
        state: State = self.region.network
        return state

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v2.0/networks", self.list_networks)
        app.router.add_post("/v2.0/networks", self.create_network)
        app.router.add_get("/v2.0/networks/{id}", self.show_network)
        app.router.add_delete("/v2.0/networks/{id}", self.delete_network)
        app.router.add_get("/v2.0/ports", self.list_ports)
        app.router.add_post("/v2.0/ports", self.create_port)
        app.router.add_get("/v2.0/ports/{id}", self.show_port)
        app.router.add_delete("/v2.0/ports/{id}", self.delete_port)

    def ensure_provider_network(self) -> None:
        """The shared flat network every simulated region starts with."""
        admin = self.cloud.identity.project_id_by_name("admin") or ""
        if not any(n["name"] == PROVIDER_NETWORK for n in self.state.of_project("networks", admin)):
            self._new_network(admin, {"name": PROVIDER_NETWORK, "shared": True}, "physnet1")

    # -- networks ------------------------------------------------------------------------

    def _new_network(self, project_id: str, item: Json, physnet: str) -> Json:
        now = api.now()
        network = {
            "id": str(uuid.uuid4()),
            "name": api.string(item, "name"),
            "tenant_id": project_id,
            "project_id": project_id,
            "admin_state_up": api.boolean(item, "admin_state_up", True),
            "mtu": api.integer("mtu", item.get("mtu", 1500), 68, 1500),
            "status": "ACTIVE",
            "subnets": [],
            "shared": api.boolean(item, "shared", False),
            "port_security_enabled": api.boolean(item, "port_security_enabled", True),
            "router:external": api.boolean(item, "router:external", False),
            "provider:network_type": "flat",
            "provider:physical_network": physnet,
            "provider:segmentation_id": None,
            "vlan_transparent": False,
            "qinq": False,
            "availability_zone_hints": [],
            "availability_zones": [],
            "ipv4_address_scope": None,
            "ipv6_address_scope": None,
            "description": api.string(item, "description"),
            "tags": [],
            "created_at": now,
            "updated_at": now,
            "revision_number": 1,
            "standard_attr_id": self.state.next_standard_attr_id(),
        }
        self.state.add("networks", network)
        return network

    @staticmethod
    def _network_view(ctx: auth.Context, network: Json) -> Json:
        return {k: network[k] for k in _NETWORK_ATTRS if ctx.is_admin or not k.startswith("provider:")}

    def _network(self, ctx: auth.Context, network_id: str) -> Json:
        network = self.state.get("networks", network_id)
        if network is None or not (network["shared"] or ctx.can_act_on(network["project_id"])):
            api.fault(404, "NetworkNotFound", "Network %s could not be found." % network_id)
        return network

    async def list_networks(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        wanted = api.filters(request, _NETWORK_ATTRS)
        found = [n for n in self.state.everything("networks") if n["shared"] or ctx.can_act_on(n["project_id"])]
        items = [view for view in (self._network_view(ctx, n) for n in found) if api.matches(view, wanted)]
        return api.listing(request, "networks", items)

    async def show_network(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        return api.shown(request, "network", self._network_view(ctx, self._network(ctx, request.match_info["id"])))

    async def create_network(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        item = api.resource_body(await api.read_body(request), "network")
        project_id = api.set_owner(ctx, item)
        api.verify(item, _NETWORK_POST)
        if not ctx.is_admin:
            _check_admin_only(item)
        self.state.check_quota(self.region, project_id, {"network": 1})
        physnet = _flat_physnet(item)
        if any(n["provider:physical_network"] == physnet for n in self.state.everything("networks")):
            api.fault(
                409, "FlatNetworkInUse", "Unable to create the flat network. Physical network %s is in use." % physnet
            )
        Groups(self.state, self.region).ensure_default(project_id)
        network = self._new_network(project_id, item, physnet)
        return api.shown(request, "network", self._network_view(ctx, network), status=201)

    async def delete_network(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        network = self._network(ctx, request.match_info["id"])
        if not ctx.can_act_on(network["project_id"]):
            api.not_found()
        ports = self.state.network_ports.get(network["id"])
        if ports:
            api.fault(
                409,
                "NetworkInUse",
                "Unable to complete operation on network %s. There are one or more ports still in use on the "
                "network, id for these ports is: %s." % (network["id"], ", ".join(ports)),
            )
        self.state.remove("networks", network)
        return wire.empty()

    # -- ports ------------------------------------------------------------------------------

    @staticmethod
    def _port_view(ctx: auth.Context, port: Json) -> Json:
        return {k: port[k] for k in _PORT_ATTRS if ctx.is_admin or k not in _ADMIN_BINDING}

    def _port(self, ctx: auth.Context, port_id: str) -> Json:
        port = self.state.get("ports", port_id)
        if port is None or not ctx.can_act_on(port["project_id"]):
            api.fault(404, "PortNotFound", "Port %s could not be found." % port_id)
        return port

    async def list_ports(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        wanted = api.filters(request, _PORT_ATTRS)
        projects = wanted.get("project_id") if ctx.is_admin else [ctx.project_id]
        found = self.state.of_projects("ports", projects)
        items = [view for view in (self._port_view(ctx, p) for p in found) if api.matches(view, wanted)]
        return api.listing(request, "ports", items)

    async def show_port(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        return api.shown(request, "port", self._port_view(ctx, self._port(ctx, request.match_info["id"])))

    async def create_port(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        item = api.resource_body(await api.read_body(request), "port")
        project_id = api.set_owner(ctx, item)
        api.verify(item, _PORT_POST)
        api.required(item, "network_id")
        network = self.state.get("networks", str(item["network_id"]))
        if network is None:
            api.fault(404, "NetworkNotFound", "Network %s could not be found." % item["network_id"])
        if not (ctx.is_admin or network["shared"] or network["project_id"] == project_id):
            api.not_found()
        self.state.check_quota(self.region, project_id, {"port": 1})
        groups = self._port_groups(ctx, item, project_id)
        port = self._new_port(item, project_id, network, groups)
        return api.shown(request, "port", self._port_view(ctx, port), status=201)

    def _port_groups(self, ctx: auth.Context, item: Json, project_id: str) -> list[str]:
        default = Groups(self.state, self.region).ensure_default(project_id)
        requested = item.get("security_groups")
        if requested is None:
            return [default]
        if not isinstance(requested, list):
            api.bad_request("Invalid input for security_groups. Reason: '%s' is not a list." % requested)
        missing = [str(g) for g in requested if not self._group_usable(ctx, str(g), project_id)]
        if missing:
            api.fault(404, "SecurityGroupNotFound", "Security group %s does not exist" % ", ".join(missing))
        return [str(g) for g in requested]

    def _group_usable(self, ctx: auth.Context, group_id: str, project_id: str) -> bool:
        group = self.state.get("security_groups", group_id)
        return group is not None and (ctx.is_admin or group["project_id"] == project_id)

    def _new_port(self, item: Json, project_id: str, network: Json, groups: list[str]) -> Json:
        now = api.now()
        mac = "fa:16:3e:%02x:%02x:%02x" % tuple(random.randrange(256) for _ in range(3))
        port = {
            "id": str(uuid.uuid4()),
            "name": api.string(item, "name"),
            "network_id": network["id"],
            "project_id": project_id,
            "mac_address": item.get("mac_address") or mac,
            "admin_state_up": api.boolean(item, "admin_state_up", True),
            "status": "DOWN",
            "device_id": api.string(item, "device_id"),
            "device_owner": api.string(item, "device_owner"),
            "fixed_ips": [],
            "allowed_address_pairs": [],
            "extra_dhcp_opts": [],
            "security_groups": groups,
            "description": api.string(item, "description"),
            "binding:vnic_type": "normal",
            "binding:profile": {},
            "binding:host_id": "",
            "binding:vif_type": "unbound",
            "binding:vif_details": {},
            "port_security_enabled": api.boolean(item, "port_security_enabled", network["port_security_enabled"]),
            "tags": [],
            "created_at": now,
            "updated_at": now,
            "revision_number": 1,
            "tenant_id": project_id,
            "standard_attr_id": self.state.next_standard_attr_id(),
        }
        self.state.add("ports", port)
        link(self.state.network_ports, network["id"], port["id"])
        for group_id in groups:
            link(self.state.group_ports, group_id, port["id"])
        return port

    async def delete_port(self, request: web.Request) -> web.Response:
        port = self._port(auth.context(request), request.match_info["id"])
        self.state.remove("ports", port)
        unlink(self.state.network_ports, port["network_id"], port["id"])
        for group_id in port["security_groups"]:
            unlink(self.state.group_ports, group_id, port["id"])
        return wire.empty()


def _check_admin_only(item: Json) -> None:
    """Policy on network attributes only an admin may set, as neutron words the
    refusal (one ``and`` per attribute given)."""
    rule = "rule:create_network"
    for key in ("shared", "router:external", *_PROVIDER_KEYS):
        # an attribute left at its default is not checked
        if item.get(key) not in (None, False):
            rule = "(%s and rule:create_network:%s)" % (rule, key)
    if rule != "rule:create_network":
        api.denied(rule)


def _flat_physnet(item: Json) -> str:
    """The physical network of a flat provider network, as ML2 checks it."""
    network_type = item.get("provider:network_type")
    physnet = item.get("provider:physical_network")
    if network_type is None:
        api.fault(
            503, "NoNetworkAvailable", "Unable to create the network. No project network is available for allocation."
        )
    if network_type == "vlan":
        api.invalid_input("physical_network '%s' unknown for VLAN provider network" % physnet)
    if network_type != "flat":
        api.invalid_input("Unknown provider:network_type %s" % network_type)
    if not physnet:
        api.invalid_input("physical_network required for flat provider network")
    return str(physnet)
