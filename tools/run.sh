#!/bin/bash
# Start kingsync's embedded default on this machine, from a fresh clone.
#
# Today that is the simulated three-region cloud that kingsync's services
# will drive (kingsync-api and kingsync-engine arrive with the service issue):
# it starts kingsync-sim, writes ./clouds.yaml, shows the real openstack CLI
# working against it, and keeps serving until Ctrl-C.
#
#   tools/run.sh           serve until interrupted
#   tools/run.sh --once    show the demo and stop (for scripts)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tools/setup-venv.sh
venv=${KINGSYNC_VENV:-$top/.venv}
export PATH=$venv/bin:$PATH
export OS_CLIENT_CONFIG_FILE=$top/clouds.yaml
rm -f "$OS_CLIENT_CONFIG_FILE"

kingsync-sim --regions 3 --port "${KINGSYNC_SIM_PORT:-8800}" --clouds-yaml "$OS_CLIENT_CONFIG_FILE" &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -f "$OS_CLIENT_CONFIG_FILE" ] && break; kill -0 $sim; sleep 0.1; done

demo() { echo; echo "\$ $*"; "$@"; }
demo openstack --os-cloud kingsync-sim-admin region list
pubkey=$(mktemp)
python - "$pubkey" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
key = ed25519.Ed25519PrivateKey.generate().public_key()
open(sys.argv[1], "wb").write(key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
PY
demo openstack --os-cloud kingsync-sim-member --os-region-name RegionOne keypair create --public-key "$pubkey" demo-key
rm -f "$pubkey"
demo openstack --os-cloud kingsync-sim-member --os-region-name RegionOne keypair list
demo openstack --os-cloud kingsync-sim-member --os-region-name RegionTwo keypair list
echo "(none in RegionTwo yet: copying it there is the keypair sync kingsync is being built for)"
demo openstack --os-cloud kingsync-sim-admin --os-region-name RegionTwo quota show demo --compute

if [ "${1:-}" = "--once" ]; then
  exit 0
fi
cat <<MSG

kingsync-sim is serving three regions. In another shell:
  export OS_CLIENT_CONFIG_FILE=$OS_CLIENT_CONFIG_FILE
  openstack --os-cloud kingsync-sim-admin --os-region-name RegionTwo flavor list
Fail a region:   curl -X PUT -d '{"down": true}' http://127.0.0.1:${KINGSYNC_SIM_PORT:-8800}/sim/v1/regions/RegionTwo/faults
Ctrl-C stops it.
MSG
wait $sim
