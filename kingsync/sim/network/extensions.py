"""The extensions neutron 29 lists with ML2 and no service plugins, as the
devcloud reports them: (alias, updated, name, description), in its order."""

from __future__ import annotations

from aiohttp import web

from kingsync.sim import wire
from kingsync.sim.network import api
from kingsync.sim.wire import Json

EXTENSIONS: tuple[tuple[str, str, str, str], ...] = (
    (
        "aap-reject-multicast",
        "2026-04-01T00:00:00-00:00",
        "Allowed address pairs reject multicast extension",
        "Reject multicast addresses in Allowed Address Pairs",
    ),
    ("address-group", "2020-07-15T10:00:00-00:00", "Address group", "Support address group"),
    ("address-scope", "2015-07-26T10:00:00-00:00", "Address scope", "Address scopes extension."),
    ("agent", "2013-02-03T10:00:00-00:00", "agent", "The agent management extension."),
    (
        "agent-resources-synced",
        "2018-12-19T00:00:00-00:00",
        "Agent's Resource View Synced to Placement",
        "Stores success/failure of last sync to Placement",
    ),
    (
        "agent_sort_key",
        "2013-02-03T10:00:00-00:00",
        "Agents Sort Key",
        "Enabling the keyword sort_key for sorting in agents.",
    ),
    ("allowed-address-pairs", "2013-07-23T10:00:00-00:00", "Allowed Address Pairs", "Provides allowed address pairs"),
    ("availability_zone", "2015-01-01T10:00:00-00:00", "Availability Zone", "The availability zone extension."),
    (
        "availability_zone_filter",
        "2018-06-22T10:00:00-00:00",
        "Availability Zone Filter Extension",
        "Add filter parameters to AvailabilityZone resource",
    ),
    (
        "default-subnetpools",
        "2016-02-18T18:00:00-00:00",
        "Default Subnetpools",
        "Provides ability to mark and use a subnetpool as the default.",
    ),
    (
        "dhcp_agent_scheduler",
        "2013-02-07T10:00:00-00:00",
        "DHCP Agent Scheduler",
        "Schedule networks among dhcp agents",
    ),
    (
        "empty-string-filtering",
        "2018-05-01T10:00:00-00:00",
        "Empty String Filtering Extension",
        "Allow filtering by attributes with empty string value",
    ),
    (
        "external-net",
        "2013-01-14T10:00:00-00:00",
        "Neutron external network",
        "Adds external network attribute to network resource.",
    ),
    (
        "extra_dhcp_opt",
        "2013-03-17T12:00:00-00:00",
        "Neutron Extra DHCP options",
        "Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be "
        "specified (e.g. tftp-server, server-ip-address, bootfile-name)",
    ),
    (
        "filter-validation",
        "2018-07-04T10:00:00-00:00",
        "Filter parameters validation",
        "Provides validation on filter parameters.",
    ),
    (
        "flavors",
        "2015-09-17T10:00:00-00:00",
        "Neutron Service Flavors",
        "Flavor specification for Neutron advanced services.",
    ),
    (
        "ip-substring-filtering",
        "2017-11-28T09:00:00-00:00",
        "IP address substring filtering",
        "Provides IP address substring filtering when listing ports",
    ),
    (
        "multi-provider",
        "2013-06-27T10:00:00-00:00",
        "Multi Provider Network",
        "Expose mapping of virtual networks to multiple physical networks",
    ),
    ("net-mtu", "2015-03-25T10:00:00-00:00", "Network MTU", "Provides MTU attribute for a network resource."),
    (
        "net-mtu-writable",
        "2017-07-12T00:00:00-00:00",
        "Network MTU (writable)",
        "Provides a writable MTU attribute for a network resource.",
    ),
    (
        "network_availability_zone",
        "2015-01-01T10:00:00-00:00",
        "Network Availability Zone",
        "Availability zone support for network.",
    ),
    (
        "network-ip-availability",
        "2015-09-24T00:00:00-00:00",
        "Network IP Availability",
        "Provides IP availability data for each network and subnet.",
    ),
    (
        "network-ip-availability-details",
        "2025-10-31T00:00:00-00:00",
        "Network IP Availability Details Extension",
        "Add ip_availability_details attribute to network-ip-availabilities resource.",
    ),
    (
        "pagination",
        "2016-06-12T00:00:00-00:00",
        "Pagination support",
        "Extension that indicates that pagination is enabled.",
    ),
    (
        "port-device-profile",
        "2020-12-17T10:00:00-00:00",
        "Port device profile",
        "Expose the port device profile (Cyborg)",
    ),
    (
        "port-mac-override",
        "2022-03-18T10:00:00-00:00",
        "Neutron Port MAC address override",
        "Allow overriding the MAC address of a direct-physical Port via the active binding profile",
    ),
    (
        "port-mac-address-regenerate",
        "2018-05-03T10:00:00-00:00",
        "Neutron Port MAC address regenerate",
        "Network port MAC address regenerate",
    ),
    (
        "port-numa-affinity-policy",
        "2020-07-08T10:00:00-00:00",
        "Port NUMA affinity policy",
        "Expose the port NUMA affinity policy",
    ),
    (
        "port-numa-affinity-policy-socket",
        "2024-02-09T10:00:00-00:00",
        'Port NUMA affinity policy "socket"',
        'Adds "socket" to the supported port NUMA affinity policies',
    ),
    (
        "binding",
        "2014-02-03T10:00:00-00:00",
        "Port Binding",
        "Expose port bindings of a virtual port to external application",
    ),
    (
        "binding-extended",
        "2017-07-17T10:00:00-00:00",
        "Port Bindings Extended",
        "Expose port bindings of a virtual port to external application",
    ),
    ("port-security", "2012-07-23T10:00:00-00:00", "Port Security", "Provides port security"),
    (
        "project-id",
        "2016-09-09T09:09:09-09:09",
        "project_id field enabled",
        "Extension that indicates that project_id field is enabled.",
    ),
    (
        "provider",
        "2012-09-07T10:00:00-00:00",
        "Provider Network",
        "Expose mapping of virtual networks to physical networks",
    ),
    (
        "qinq",
        "2024-12-02T10:00:00-00:00",
        "QinQ networks",
        "Expose network 'qinq' attribute in the API. This allows to configure network to allow vlan in "
        "vlan configuration using 0x88a8 ethertype (QinQ).",
    ),
    (
        "quota-check-limit",
        "2021-09-08T16:00:00-00:00",
        "Quota engine limit check",
        "Support for checking the resource usage before applying a new quota limit",
    ),
    (
        "quota-check-limit-default",
        "2024-08-21T16:00:00-00:00",
        "Quota engine limit check by default",
        "By default, the Neutron quota engine checks the resource usage before applying a new quota limit",
    ),
    (
        "quotas",
        "2012-07-29T10:00:00-00:00",
        "Quota management support",
        "Expose functions for quotas management per project",
    ),
    (
        "quota_details",
        "2017-02-10T10:00:00-00:00",
        "Quota details management support",
        "Expose functions for quotas usage statistics per project",
    ),
    (
        "rbac-policies",
        "2015-06-17T12:15:12-00:00",
        "RBAC Policies",
        "Allows creation and modification of policies that control project access to resources.",
    ),
    (
        "rbac-address-group",
        "2021-01-20T00:00:00-00:00",
        "Add address_group type to RBAC",
        "Add address_group type to network RBAC",
    ),
    (
        "rbac-address-scope",
        "2020-02-12T00:00:00-00:00",
        "Add address_scope type to RBAC",
        "Add address_scope type to RBAC",
    ),
    (
        "rbac-security-groups",
        "2019-02-14T00:00:00-00:00",
        "Add security_group type to network RBAC",
        "Add security_group type to network RBAC",
    ),
    ("rbac-subnetpool", "2020-02-05T00:00:00-00:00", "Add subnetpool type to RBAC", "Add subnetpool type to RBAC"),
    (
        "revision-if-match",
        "2016-12-11T00:00:00-00:00",
        "If-Match constraints based on revision_number",
        "Extension indicating that If-Match based on revision_number is supported.",
    ),
    (
        "standard-attr-revisions",
        "2016-04-11T10:00:00-00:00",
        "Resource revision numbers",
        "This extension will display the revision number of neutron resources.",
    ),
    (
        "security-groups-default-rules",
        "2022-12-19T10:00:00-00:00",
        "Default rules for security groups",
        "Configure set of security group rules used as default rules for every new security group",
    ),
    (
        "security-groups-default-statefulness",
        "2026-04-13T00:00:00-00:00",
        "Security Groups Default Statefulness",
        "Allows configuring the default value of the 'stateful' attribute for new security groups, on a "
        "per-project or system-wide basis",
    ),
    (
        "security-groups-normalized-cidr",
        "2020-07-28T10:00:00-00:00",
        "Normalized CIDR field for security group rules",
        "Add new field with normalized remote_ip_prefix cidr in SG rule",
    ),
    (
        "port-security-groups-filtering",
        "2018-01-09T09:00:00-00:00",
        "Port filtering on security groups",
        "Provides security groups filtering when listing ports",
    ),
    (
        "security-groups-remote-address-group",
        "2020-08-25T10:00:00-00:00",
        "Remote address group id field for security group rules",
        "Add new field of remote address group id in SG rules",
    ),
    (
        "security-groups-rules-belongs-to-default-sg",
        "2023-05-23T10:00:00-00:00",
        "Security group rule belongs to the project's default security group",
        "Flag to determine if the security group rule belongs to the project's default security group",
    ),
    (
        "security-groups-shared-filtering",
        "2021-10-05T09:00:00-00:00",
        "Security group filtering on the shared field",
        "Support filtering security groups on the shared field",
    ),
    ("security-group", "2012-10-05T10:00:00-00:00", "security-group", "The security groups extension."),
    (
        "service-type",
        "2013-01-20T00:00:00-00:00",
        "Neutron Service Type Management",
        "API for retrieving service providers for Neutron advanced services",
    ),
    ("sorting", "2016-06-12T00:00:00-00:00", "Sorting support", "Extension that indicates that sorting is enabled."),
    (
        "standard-attr-description",
        "2016-02-10T10:00:00-00:00",
        "standard-attr-description",
        "Extension to add descriptions to standard attributes",
    ),
    (
        "stateful-security-group",
        "2019-11-26T09:00:00-00:00",
        "Stateful security group",
        "Indicates if the security group is stateful or not",
    ),
    (
        "subnet-external-network",
        "2024-02-05T18:00:00-00:00",
        "Subnet belongs to an external network",
        "Informs if the subnet belongs to an external network",
    ),
    (
        "subnet_onboard",
        "2018-12-18T09:00:00-00:00",
        "Subnet Onboard",
        "Provides support for onboarding subnets into subnet pools",
    ),
    (
        "subnet-service-types",
        "2016-03-15T18:00:00-00:00",
        "Subnet service types",
        "Provides ability to set the subnet service_types field",
    ),
    (
        "subnet_allocation",
        "2015-03-30T10:00:00-00:00",
        "Subnet Allocation",
        "Enables allocation of subnets from a subnet pool",
    ),
    (
        "subnetpool-prefix-ops",
        "2019-02-08T10:00:00-00:00",
        "Subnet Pool Prefix Operations",
        "Provides support for adjusting the prefix list of subnet pools",
    ),
    (
        "tag-creation",
        "2024-23-07T10:00:00-00:00",
        "Tag creation extension",
        "Allow to create multiple tags for a resource",
    ),
    (
        "standard-attr-tag",
        "2017-01-01T00:00:00-00:00",
        "Tag support for resources with standard attribute: port, subnet, subnetpool, network, "
        "security_group, router, floatingip, policy, trunk, network_segment_range",
        "Enables to set tag on resources with standard attribute.",
    ),
    (
        "standard-attr-timestamp",
        "2016-09-12T10:00:00-00:00",
        "Resource timestamps",
        "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.",
    ),
    ("vlan-transparent", "2015-03-23T09:00:00-00:00", "Vlantransparent", "Provides Vlan Transparent Networks"),
)
_BY_ALIAS = {row[0]: row for row in EXTENSIONS}


def _view(row: tuple[str, str, str, str]) -> Json:
    alias, updated, name, description = row
    return {"name": name, "alias": alias, "description": description, "updated": updated, "links": []}


async def list_extensions(request: web.Request) -> web.Response:
    return wire.json_response({"extensions": [_view(row) for row in EXTENSIONS]})


async def show_extension(request: web.Request) -> web.Response:
    row = _BY_ALIAS.get(request.match_info["alias"])
    if row is None:
        api.fault(404, "HTTPNotFound", "Extension with alias %s does not exist" % request.match_info["alias"])
    return wire.json_response({"extension": _view(row)})
