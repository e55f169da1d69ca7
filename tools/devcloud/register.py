#!/usr/bin/env python3
"""Register the devcloud's catalog, users and projects in its (single) keystone.

Run by ``devcloud up`` with the devcloud venv's python once keystone answers;
idempotent (it creates what is missing and corrects endpoint URLs and
passwords that differ). Settings come from the environment that ``devcloud``
exports: REGIONS, KEYSTONE_PORT, OS_CLIENT_CONFIG_FILE and the passwords.

keystone-manage bootstrap already made: user admin, project admin, roles
admin/member/reader(/manager/service), the identity service and its RegionOne
endpoints. This adds:

* every region in REGIONS, and identity endpoints in each of them;
* compute, image, network, block-storage and volumev3 services + endpoints
  (public, internal, admin) per region;
* project ``service`` with users nova, glance, neutron, cinder (the
  services' keystonemiddleware users) and ``kingsync`` (the daemon's own
  service user), each with roles ``admin`` and ``service`` on ``service``;
* project ``demo`` with user ``demo`` (member + reader), admin is also a
  member of ``demo``;
* project ``demo2`` with user ``demo2`` (member + reader).
"""

import os
import sys

import openstack

REGION_INDEX = {"RegionOne": 1, "RegionTwo": 2, "RegionThree": 3,
                "RegionFour": 4, "RegionFive": 5}

regions = os.environ["REGIONS"].split()
ks_port = os.environ["KEYSTONE_PORT"]
service_pw = os.environ["SERVICE_PASSWORD"]
kingsync_pw = os.environ["KINGSYNC_SERVICE_PASSWORD"]
demo_pw = os.environ["DEMO_PASSWORD"]
demo2_pw = os.environ["DEMO2_PASSWORD"]

conn = openstack.connect(cloud="kingsync-devcloud-admin", region_name="RegionOne")
idn = conn.identity


def ensure_region(name):
    if not idn.find_region(name):
        idn.create_region(id=name)


def ensure_service(name, stype):
    svc = next(iter(idn.services(type=stype)), None)
    return svc or idn.create_service(name=name, type=stype, is_enabled=True)


def ensure_endpoints(svc, region, url):
    have = {e.interface: e for e in idn.endpoints(service_id=svc.id, region_id=region)}
    for iface in ("public", "internal", "admin"):
        ep = have.get(iface)
        if ep is None:
            idn.create_endpoint(service_id=svc.id, interface=iface, url=url,
                                region_id=region, is_enabled=True)
        elif ep.url != url:
            idn.update_endpoint(ep, url=url)


def ensure_project(name, description):
    project = idn.find_project(name, domain_id="default")
    return project or idn.create_project(name=name, domain_id="default",
                                         description=description)


def ensure_user(name, password, project):
    user = idn.find_user(name, domain_id="default")
    if user is None:
        return idn.create_user(name=name, password=password, domain_id="default",
                               default_project_id=project.id)
    # keep the password in step with the environment (cheap; bcrypt on write)
    return idn.update_user(user, password=password)


_roles = {}


def grant(user, project, role_name):
    if role_name not in _roles:
        _roles[role_name] = idn.find_role(role_name) or idn.create_role(name=role_name)
    idn.assign_project_role_to_user(project, user, _roles[role_name])


def main():
    unknown = [r for r in regions if r not in REGION_INDEX]
    if unknown:
        sys.exit(f"register.py: unknown region(s) {unknown}; known: {list(REGION_INDEX)}")
    services = {
        "identity": ensure_service("keystone", "identity"),
        "compute": ensure_service("nova", "compute"),
        "image": ensure_service("glance", "image"),
        "network": ensure_service("neutron", "network"),
        "block-storage": ensure_service("cinder", "block-storage"),
        "volumev3": ensure_service("cinderv3", "volumev3"),
    }
    for region in regions:
        i = REGION_INDEX[region]
        ensure_region(region)
        ensure_endpoints(services["identity"], region, f"http://127.0.0.1:{ks_port}/v3")
        ensure_endpoints(services["compute"], region, f"http://127.0.0.1:{i}8774/v2.1")
        ensure_endpoints(services["image"], region, f"http://127.0.0.1:{i}9292")
        ensure_endpoints(services["network"], region, f"http://127.0.0.1:{i}9696")
        ensure_endpoints(services["block-storage"], region, f"http://127.0.0.1:{i}8776/v3")
        ensure_endpoints(services["volumev3"], region, f"http://127.0.0.1:{i}8776/v3")

    service = ensure_project("service", "OpenStack service users and kingsync")
    for name in ("nova", "glance", "neutron", "cinder", "kingsync"):
        user = ensure_user(name, kingsync_pw if name == "kingsync" else service_pw, service)
        grant(user, service, "admin")
        grant(user, service, "service")

    demo = ensure_project("demo", "kingsync devcloud member project")
    demo_user = ensure_user("demo", demo_pw, demo)
    grant(demo_user, demo, "member")
    grant(demo_user, demo, "reader")
    grant(idn.find_user("admin", domain_id="default", ignore_missing=False), demo, "member")

    demo2 = ensure_project("demo2", "kingsync devcloud second member project")
    demo2_user = ensure_user("demo2", demo2_pw, demo2)
    grant(demo2_user, demo2, "member")
    grant(demo2_user, demo2, "reader")

    print("registered regions:", ", ".join(regions))
    names = {s.id: s.type for s in idn.services()}
    for ep in sorted(idn.endpoints(interface="public"),
                     key=lambda e: (e.region_id, names.get(e.service_id, ""))):
        print(f"  {ep.region_id:12s} {names.get(ep.service_id, '?'):14s} {ep.url}")


if __name__ == "__main__":
    main()
