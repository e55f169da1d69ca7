#!/bin/bash
# kingsync's embedded default, from a fresh clone: `kingsync all-in-one`
# (API and engine in one process, SQLite, in-process messaging) acting on a
# simulated three-region OpenStack (kingsync-sim). It shows a keypair sync:
# a tenant's keypair in RegionOne is copied to RegionTwo and RegionThree
# through kingsync's Kingbird-compatible API; then a security group whose
# rules refer to another group, both copied with their rules mapped; then an
# image, copied under the same id and checked. Then an admin sets a global quota of 30 cores for the tenant's project and the
# engine splits it across the regions. It keeps serving until Ctrl-C.
#
#   tools/run.sh           demo, then serve until interrupted
#   tools/run.sh --once    demo, then stop (for scripts)
#
# Ports: kingsync-sim on 8800-8803, kingsync's API on 8118 (Kingbird's port).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tools/setup-venv.sh
venv=${KINGSYNC_VENV:-$top/.venv}
export PATH=$venv/bin:$PATH
state=$top/.kingsync-demo
sim_port=${KINGSYNC_SIM_PORT:-8800}
api_port=${KINGSYNC_API_PORT:-8118}
rm -rf "$state" && mkdir -p "$state"
export OS_CLIENT_CONFIG_FILE=$state/clouds.yaml
auth_url=http://127.0.0.1:$sim_port/identity/v3

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

kingsync-sim --regions 3 --port "$sim_port" --clouds-yaml "$OS_CLIENT_CONFIG_FILE" >"$state/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -f "$OS_CLIENT_CONFIG_FILE" ] && break; sleep 0.1; done
[ -f "$OS_CLIENT_CONFIG_FILE" ] || { cat "$state/sim.log"; exit 1; }

# kingsync acts in the regions with its own service user; API tokens are
# checked by keystonemiddleware against the same Keystone.
credentials="auth_type = password
auth_url = $auth_url
username = kingsync
password = service-secret
project_name = service
user_domain_name = Default
project_domain_name = Default"
cat >"$state/kingsync.conf" <<CONF
[DEFAULT]
log_file = $state/kingsync.log

[api]
bind_port = $api_port

[database]
connection = sqlite:///$state/kingsync.sqlite

[engine]
poll_interval = 2

[regions]
$credentials

[keystone_authtoken]
www_authenticate_uri = $auth_url
$credentials
CONF

kingsync all-in-one --config-file "$state/kingsync.conf" &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$api_port/" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$api_port/" >/dev/null || { tail -20 "$state/kingsync.log"; exit 1; }

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
demo() { printf '$ %s\n' "$*"; "$@"; }
member=(--os-cloud kingsync-sim-member)

say "1. A tenant (user demo, project demo) has a keypair in RegionOne only"
python - "$state/id.pub" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
key = ed25519.Ed25519PrivateKey.generate().public_key()
open(sys.argv[1], "wb").write(key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
PY
demo openstack "${member[@]}" --os-region-name RegionOne keypair create --public-key "$state/id.pub" demo-key -f value -c fingerprint
for r in RegionTwo RegionThree; do demo openstack "${member[@]}" --os-region-name $r keypair list -f value -c Name; done

say "2. It asks kingsync to sync it (Kingbird's API: POST /v1.0/{project}/os-sync)"
token=$(openstack "${member[@]}" token issue -f value -c id)
project=$(openstack "${member[@]}" token issue -f value -c project_id)
api=http://127.0.0.1:$api_port/v1.0/$project/os-sync
body='{"resource_set": {"resource_type": "keypair", "resources": ["demo-key"], "source": "RegionOne", "target": ["RegionTwo", "RegionThree"], "force": "False"}}'
printf '$ curl -X POST %s -d %s\n' "$api" "'$body'"
job=$(curl -sf -X POST "$api" -H "X-Auth-Token: $token" -H "Content-Type: application/json" -d "$body")
echo "$job"
job_id=$(python -c 'import json,sys; print(json.loads(sys.argv[1])["job_status"]["id"])' "$job")

# The job's status once it has ended (IN_PROGRESS if it has not within 30 s).
wait_job() {
  local status=IN_PROGRESS
  for _ in $(seq 1 60); do
    status=$(curl -sf "$api" -H "X-Auth-Token: $token" \
      | python -c 'import json,sys; print([j["sync_status"] for j in json.load(sys.stdin)["job_set"] if j["id"]==sys.argv[1]][0])' "$1")
    [ "$status" != IN_PROGRESS ] && break
    sleep 0.5
  done
  echo "$status"
}
# POST a job, show the call and the answer (on stderr), print the job's id.
post_job() {
  printf '$ curl -X POST %s -d %s\n' "$api" "'$1'" >&2
  local job
  job=$(curl -sf -X POST "$api" -H "X-Auth-Token: $token" -H "Content-Type: application/json" -d "$1")
  echo "$job" >&2
  python -c 'import json,sys; print(json.loads(sys.argv[1])["job_status"]["id"])' "$job"
}

say "3. The engine copies it; the job ends SUCCESS"
status=$(wait_job "$job_id")
curl -sf "$api/$job_id" -H "X-Auth-Token: $token" | python -m json.tool
for r in RegionTwo RegionThree; do demo openstack "${member[@]}" --os-region-name $r keypair list -f value -c Name -c Fingerprint; done
[ "$status" = SUCCESS ] || { echo "job ended $status; see $state/kingsync.log"; exit 1; }

say "4. Security groups: web (http from anywhere, ssh only from the bastion group) and bastion, in RegionOne"
one=(--os-region-name RegionOne)
demo openstack "${member[@]}" "${one[@]}" security group create bastion --description "ssh jump hosts" -f value -c id
demo openstack "${member[@]}" "${one[@]}" security group create web --description "web tier" -f value -c id
demo openstack "${member[@]}" "${one[@]}" security group rule create web --protocol tcp --dst-port 80 --remote-ip 0.0.0.0/0 -f value -c id
demo openstack "${member[@]}" "${one[@]}" security group rule create web --protocol tcp --dst-port 22 --remote-group bastion -f value -c id
demo openstack "${member[@]}" "${one[@]}" security group rule create bastion --protocol tcp --dst-port 22 --remote-ip 203.0.113.0/24 -f value -c id

say "5. The tenant syncs web; kingsync copies bastion first (web's rule refers to it) and maps the rule"
body='{"resource_set": {"resource_type": "security_group", "resources": ["web"], "source": "RegionOne", "target": ["RegionTwo", "RegionThree"]}}'
sg_job=$(post_job "$body")
status=$(wait_job "$sg_job")
curl -sf "$api/$sg_job" -H "X-Auth-Token: $token" \
  | python -c 'import json,sys; [print("  %-12s %-8s %s" % (i["target_region"], i["result"], i["target_id"])) for i in json.load(sys.stdin)["job_set"]]'
demo openstack "${member[@]}" --os-region-name RegionTwo security group rule list web -f value \
  -c "IP Protocol" -c "Port Range" -c "IP Range" -c "Remote Security Group" -c Direction
demo openstack "${member[@]}" --os-region-name RegionTwo security group show bastion -f value -c id
[ "$status" = SUCCESS ] || { echo "job ended $status; see $state/kingsync.log"; exit 1; }

say "6. An image: the tenant uploads 16 MiB to RegionOne and syncs it to RegionTwo and RegionThree"
# RegionTwo's glance offers glance-download (it pulls images from other regions
# itself); RegionThree's, here, does not, as in many clouds.
curl -sf -X PUT "http://127.0.0.1:$sim_port/sim/v1/regions/RegionThree/import-methods" \
  -H "Content-Type: application/json" -d '{"import_methods": ["glance-direct", "web-download"]}' >/dev/null
head -c $((16 * 1024 * 1024)) /dev/urandom >"$state/demo.img"
image_id=$(openstack "${member[@]}" "${one[@]}" image create demo-image --file "$state/demo.img" \
  --disk-format raw --container-format bare --property os_distro=debian --tag golden -f value -c id)
echo "$image_id"
body='{"resource_set": {"resource_type": "image", "resources": ["demo-image"], "source": "RegionOne", "target": ["RegionTwo", "RegionThree"]}}'
image_job=$(post_job "$body")
status=$(wait_job "$image_job")
curl -sf "$api/$image_job" -H "X-Auth-Token: $token" | python -c '
import json, sys
for i in json.load(sys.stdin)["job_set"]:
    print("  %-12s %-8s %s  %s" % (i["target_region"], i["result"], i["target_id"], i["progress"]))'
echo "  (RegionTwo pulled the image from RegionOne itself, by glance-download: no byte went through"
echo "   kingsync; RegionThree, without it, got the bytes streamed by kingsync's engine, read once for all"
echo "   such regions; each copy kept the id, was checked against the source's size and hash, then shown)"
for r in RegionOne RegionTwo RegionThree; do
  openstack "${member[@]}" --os-region-name $r image show "$image_id" -f json | python -c '
import json, sys
i = json.load(sys.stdin)
print("  %-12s %s %s %s bytes, checksum %s" % (sys.argv[1], i["id"], i["status"], i["size"], i["checksum"]))' "$r"
done
[ "$status" = SUCCESS ] || { echo "job ended $status; see $state/kingsync.log"; exit 1; }

say "7. An admin gives project demo 30 cores across all regions (PUT /v1.0/{project}/os-quota-sets/{target})"
admin_token=$(openstack --os-cloud kingsync-sim-admin token issue -f value -c id)
admin_project=$(openstack --os-cloud kingsync-sim-admin token issue -f value -c project_id)
quota=http://127.0.0.1:$api_port/v1.0/$admin_project/os-quota-sets/$project
# The simulator stands in for servers: the tenant runs 12 cores in RegionOne.
curl -sf -X PUT "http://127.0.0.1:$sim_port/sim/v1/regions/RegionOne/usage/$project" \
  -H "Content-Type: application/json" -d '{"compute": {"cores": 12, "instances": 3, "ram": 6144}}' >/dev/null
printf '$ curl -X PUT %s -d %s\n' "$quota" "'{\"quota_set\": {\"cores\": 30}}'"
curl -sf -X PUT "$quota" -H "X-Auth-Token: $admin_token" -H "Content-Type: application/json" \
  -d '{"quota_set": {"cores": 30}}'
echo

say "8. The engine splits it: RegionOne keeps its 12 in use, the 18 left are shared evenly"
show_cores() {
  curl -sf "$quota/regions" -H "X-Auth-Token: $admin_token" | python -c '
import json, sys
regions = json.load(sys.stdin)["regions"]
cores = {r["region"]: r["resources"].get("cores", {}) for r in regions}
for name, c in sorted(cores.items()):
    print("  %-12s usage %4s   limit %4s" % (name, c.get("usage"), c.get("limit")))
limits = [c.get("limit") for c in cores.values()]
print("  %-12s            limit %4s   (global: 30)" % ("sum", sum(limits) if None not in limits else "?"))
sys.exit(0 if None not in limits else 1)'
}
for _ in $(seq 1 60); do show_cores >/dev/null 2>&1 && break; sleep 0.5; done
printf '$ curl %s/regions\n' "$quota"
show_cores
for r in RegionOne RegionTwo RegionThree; do
  printf '  nova in %-12s says cores = %s\n' "$r" \
    "$(openstack --os-cloud kingsync-sim-admin --os-region-name $r quota show "$project" --compute -f value \
       | awk '$1 == "cores" {print $2}')"
done

say "9. Every change is in the audit history (GET .../audit)"
curl -sf "$quota/audit" -H "X-Auth-Token: $admin_token" | python -c '
import json, sys
entries = list(reversed(json.load(sys.stdin)["audit"]))
for e in entries:
    if e["resource"] == "cores":
        print("  %-26s %-11s %-6s %5s -> %-5s by %s (%s)" % (e["time"], e["region"] or "global", e["resource"], e["old"], e["new"], e["actor"], e["reason"]))
others = len([e for e in entries if e["resource"] != "cores"])
print("  ... and %d changes to other resources: a managed project is held to the defaults" % others)
print("      (GET .../os-quota-sets/defaults) for every resource it has no limit of its own for")'

if [ "${1:-}" = "--once" ]; then
  exit 0
fi
cat <<MSG

kingsync is serving on http://127.0.0.1:$api_port (log: $state/kingsync.log),
acting on three simulated regions (clouds.yaml: $OS_CLIENT_CONFIG_FILE).
Ctrl-C stops both.
MSG
wait
