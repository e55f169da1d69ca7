#!/usr/bin/env python3
"""Smoke test of the kingsync devcloud with openstacksdk.

Run by ``devcloud smoke [ARGS]`` in the devcloud venv. First checks that
every cloud in clouds.yaml (kingsync-devcloud-admin, -member, -member2) and
the kingsync service user can authenticate. Then, in EACH region: keypair,
private flavor + extra spec + project access, 1 MiB image upload / download /
checksum, security group + rule, nova/neutron/cinder quota read (with usage)
+ update + restore. Prints per-call latency. Exit status 1 if anything
failed.

Usage: devcloud smoke [--regions RegionOne,RegionTwo] [--project demo] [--json out.json]
"""
import argparse
import hashlib
import json
import os
import statistics
import sys
import time
import uuid

import openstack
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

TIMINGS = []  # (region, op, seconds)


def timed(region, op, fn, *a, **kw):
    t = time.perf_counter()
    try:
        return fn(*a, **kw)
    finally:
        TIMINGS.append((region, op, time.perf_counter() - t))


def ssh_pubkey():
    k = ed25519.Ed25519PrivateKey.generate()
    return k.public_key().public_bytes(
        serialization.Encoding.OpenSSH,
        serialization.PublicFormat.OpenSSH).decode() + " devcloud-smoke"


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run_region(cloud, region, project_name):
    T = lambda op, fn, *a, **kw: timed(region, op, fn, *a, **kw)  # noqa
    conn = openstack.connect(cloud=cloud, region_name=region)
    T("auth+catalog", conn.authorize)
    proj = T("identity.find_project", conn.identity.find_project,
             project_name, ignore_missing=False)
    tag = f"devcloud-smoke-{uuid.uuid4().hex[:8]}"
    res = {}

    # ---- nova keypair ----
    kp = T("compute.create_keypair", conn.compute.create_keypair,
           name=tag, public_key=ssh_pubkey())
    names = [k.name for k in T("compute.keypairs(list)",
                               lambda: list(conn.compute.keypairs()))]
    check(tag in names, "keypair not listed")
    T("compute.delete_keypair", conn.compute.delete_keypair, kp)
    res["keypair"] = "ok"

    # ---- nova flavor with extra specs + project access ----
    fl = T("compute.create_flavor", conn.compute.create_flavor,
           name=tag, ram=512, vcpus=1, disk=1, is_public=False)
    T("compute.create_flavor_extra_specs",
      conn.compute.create_flavor_extra_specs, fl,
      {"hw:cpu_policy": "dedicated", "quota:cpu_shares": "1024"})
    specs = T("compute.fetch_flavor_extra_specs",
              conn.compute.fetch_flavor_extra_specs, fl).extra_specs
    check(specs.get("hw:cpu_policy") == "dedicated", f"extra specs {specs}")
    T("compute.flavor_add_tenant_access",
      conn.compute.flavor_add_tenant_access, fl, proj.id)
    acc = T("compute.get_flavor_access", conn.compute.get_flavor_access, fl)
    check(any(a["tenant_id"] == proj.id for a in acc), f"flavor access {acc}")
    flist = T("compute.flavors(list,all)",
              lambda: list(conn.compute.flavors(is_public=None)))
    check(any(f.name == tag for f in flist), "flavor not listed")
    T("compute.flavor_remove_tenant_access",
      conn.compute.flavor_remove_tenant_access, fl, proj.id)
    T("compute.delete_flavor", conn.compute.delete_flavor, fl)
    res["flavor"] = "ok"

    # ---- glance image upload / download ----
    data = os.urandom(1024 * 1024)
    sha = hashlib.sha256(data).hexdigest()
    img = T("image.create_image(+upload 1MiB)", conn.image.create_image,
            name=tag, data=data, disk_format="raw", container_format="bare",
            allow_duplicates=True, validate_checksum=False)
    img = T("image.get_image", conn.image.get_image, img.id)
    check(img.status == "active", f"image status {img.status}")
    check(img.size == len(data), f"image size {img.size}")
    resp = T("image.download_image", conn.image.download_image, img)
    got = hashlib.sha256(resp.content).hexdigest()
    check(got == sha, "downloaded data differs")
    check(img.hash_value == hashlib.sha512(data).hexdigest(),
          "glance os_hash_value mismatch")
    T("image.images(list)", lambda: list(conn.image.images()))
    T("image.delete_image", conn.image.delete_image, img)
    res["image"] = f"ok sha256={sha[:12]}"

    # ---- neutron security group + rule ----
    sg = T("network.create_security_group",
           conn.network.create_security_group, name=tag,
           description="smoke", project_id=proj.id)
    rule = T("network.create_security_group_rule",
             conn.network.create_security_group_rule,
             security_group_id=sg.id, direction="ingress", ethertype="IPv4",
             protocol="tcp", port_range_min=22, port_range_max=22,
             remote_ip_prefix="10.0.0.0/8")
    sgs = T("network.security_groups(list,project)",
            lambda: list(conn.network.security_groups(project_id=proj.id)))
    check(any(s.id == sg.id for s in sgs), "sg not listed")
    T("network.delete_security_group_rule",
      conn.network.delete_security_group_rule, rule)
    T("network.delete_security_group", conn.network.delete_security_group, sg)
    res["security_group"] = "ok"

    # ---- quotas: nova ----
    q = T("compute.get_quota_set(usage)", conn.compute.get_quota_set,
          proj.id, usage=True)
    orig = {"cores": q.cores, "instances": q.instances,
            "key_pairs": q.key_pairs}
    T("compute.update_quota_set", conn.compute.update_quota_set, proj.id,
      cores=orig["cores"] + 7, instances=orig["instances"] + 3)
    q2 = T("compute.get_quota_set", conn.compute.get_quota_set, proj.id)
    check(q2.cores == orig["cores"] + 7, f"nova cores {q2.cores}")
    T("compute.update_quota_set(restore)", conn.compute.update_quota_set,
      proj.id, cores=orig["cores"], instances=orig["instances"])
    res["nova_quota"] = {"limits": orig, "usage": q.usage}

    # ---- quotas: neutron ----
    nq = T("network.get_quota(details)", conn.network.get_quota, proj.id,
           details=True)
    norig = {"security_groups": nq.security_groups["limit"],
             "security_group_rules": nq.security_group_rules["limit"]}
    nused = {k: getattr(nq, k)["used"] for k in
             ("security_groups", "security_group_rules", "networks", "ports")}
    T("network.update_quota", conn.network.update_quota, proj.id,
      security_groups=norig["security_groups"] + 5)
    nq2 = T("network.get_quota", conn.network.get_quota, proj.id)
    check(nq2.security_groups == norig["security_groups"] + 5,
          f"neutron sg quota {nq2.security_groups}")
    T("network.update_quota(restore)", conn.network.update_quota, proj.id,
      security_groups=norig["security_groups"])
    res["neutron_quota"] = {"limits": norig, "used": nused}

    # ---- quotas: cinder ----
    cq = T("block_storage.get_quota_set(usage)",
           conn.block_storage.get_quota_set, proj.id, usage=True)
    corig = {"volumes": cq.volumes, "gigabytes": cq.gigabytes}
    T("block_storage.update_quota_set", conn.block_storage.update_quota_set,
      proj.id, volumes=corig["volumes"] + 4, gigabytes=corig["gigabytes"] + 100)
    cq2 = T("block_storage.get_quota_set", conn.block_storage.get_quota_set,
            proj.id)
    check(cq2.volumes == corig["volumes"] + 4, f"cinder volumes {cq2.volumes}")
    T("block_storage.update_quota_set(restore)",
      conn.block_storage.update_quota_set, proj.id, **corig)
    res["cinder_quota"] = {"limits": corig, "usage": cq.usage}
    return res


def check_personas():
    """Every clouds.yaml persona and the kingsync service user get a token."""
    res = {}
    for persona, project in (("admin", "admin"), ("member", "demo"), ("member2", "demo2")):
        conn = openstack.connect(cloud=f"kingsync-devcloud-{persona}")
        timed("-", "auth+catalog", conn.authorize)
        check(conn.current_project.name == project if conn.current_project else False,
              f"{persona}: scoped to {conn.current_project}")
        res[f"kingsync-devcloud-{persona}"] = "ok"
        conn.close()
    admin = openstack.connect(cloud="kingsync-devcloud-admin")
    ks = openstack.connect(
        auth_url=admin.config.get_auth_args()["auth_url"], username="kingsync",
        password=os.environ.get("KINGSYNC_SERVICE_PASSWORD", "service-secret"),
        project_name="service", user_domain_name="Default",
        project_domain_name="Default", region_name=admin.config.region_name)
    timed("-", "auth+catalog", ks.authorize)
    roles = {a.role["id"] for a in admin.identity.role_assignments(
        user_id=ks.current_user_id, scope_project_id=ks.current_project_id)}
    admin_role = admin.identity.find_role("admin", ignore_missing=False)
    check(admin_role.id in roles, "kingsync user lacks admin on project service")
    res["kingsync@service"] = "ok (admin)"
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cloud", default="kingsync-devcloud-admin")
    ap.add_argument("--regions",
                    default=os.environ.get("REGIONS", "RegionOne RegionTwo RegionThree").replace(" ", ","))
    ap.add_argument("--project", default="demo")
    ap.add_argument("--json")
    args = ap.parse_args()
    failures = 0
    results = {}
    t0 = time.perf_counter()
    try:
        results["personas"] = check_personas()
        status = "PASS"
    except Exception as e:  # report and go on with the regions
        failures += 1
        results["personas"] = {"error": f"{type(e).__name__}: {e}"}
        status = "FAIL"
    print(f"[{status}] personas ({time.perf_counter() - t0:.1f}s)")
    for k, v in results["personas"].items():
        print(f"    {k}: {v}")
    for region in args.regions.replace(" ", ",").split(","):
        if not region:
            continue
        t = time.perf_counter()
        try:
            results[region] = run_region(args.cloud, region, args.project)
            status = "PASS"
        except Exception as e:  # report and continue with next region
            failures += 1
            results[region] = {"error": f"{type(e).__name__}: {e}"}
            status = "FAIL"
        print(f"[{status}] {region} ({time.perf_counter() - t:.1f}s)")
        for k, v in results[region].items():
            print(f"    {k}: {v}")
    print(f"total {time.perf_counter() - t0:.1f}s")
    print("\nper-call latency (ms) over all regions: op  n  median  max")
    ops = {}
    for _, op, s in TIMINGS:
        ops.setdefault(op, []).append(s * 1000)
    for op, v in ops.items():
        print(f"  {op:45s} {len(v):2d} {statistics.median(v):8.1f} {max(v):8.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results,
                       "timings": [{"region": r, "op": o, "ms": s * 1000}
                                   for r, o, s in TIMINGS]}, f, indent=1,
                      default=str)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
