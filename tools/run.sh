#!/bin/bash
# kingsync's embedded default, from a fresh clone: `kingsync all-in-one`
# (API and engine in one process, SQLite, in-process messaging) acting on a
# simulated three-region OpenStack (kingsync-sim). It shows a keypair sync:
# a tenant's keypair in RegionOne is copied to RegionTwo and RegionThree
# through kingsync's Kingbird-compatible API, then keeps serving until Ctrl-C.
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

say "3. The engine copies it; the job ends SUCCESS"
for _ in $(seq 1 60); do
  status=$(curl -sf "$api" -H "X-Auth-Token: $token" \
    | python -c 'import json,sys; print([j["sync_status"] for j in json.load(sys.stdin)["job_set"] if j["id"]==sys.argv[1]][0])' "$job_id")
  [ "$status" != IN_PROGRESS ] && break
  sleep 0.5
done
curl -sf "$api/$job_id" -H "X-Auth-Token: $token" | python -m json.tool
for r in RegionTwo RegionThree; do demo openstack "${member[@]}" --os-region-name $r keypair list -f value -c Name -c Fingerprint; done
[ "$status" = SUCCESS ] || { echo "job ended $status; see $state/kingsync.log"; exit 1; }

if [ "${1:-}" = "--once" ]; then
  exit 0
fi
cat <<MSG

kingsync is serving on http://127.0.0.1:$api_port (log: $state/kingsync.log),
acting on three simulated regions (clouds.yaml: $OS_CLIENT_CONFIG_FILE).
Ctrl-C stops both.
MSG
wait
