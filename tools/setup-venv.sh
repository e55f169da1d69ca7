#!/bin/bash
# Create or refresh kingsync's virtualenv (.venv in the checkout) with the
# runtime and test requirements and kingsync itself (editable). Idempotent:
# pip runs only when a requirements file changed since the last install.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=${KINGSYNC_VENV:-$top/.venv}
python=${PYTHON:-python3}

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "kingsync needs Python >= 3.11; $python is $("$python" --version 2>&1)" >&2
  exit 1
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"

stamp=$venv/.kingsync-requirements
want=$(cat "$top/requirements.txt" "$top/test-requirements.txt" "$top/setup.cfg" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -x "$venv/bin/kingsync-sim" ]; then
  echo "== installing kingsync and its requirements into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip wheel 2>&1 | grep -v '^WARNING: Location' || true
  "$venv/bin/pip" install -q --disable-pip-version-check \
    -r "$top/requirements.txt" -r "$top/test-requirements.txt" -e "$top" 2>&1 \
    | grep -vE '^WARNING: Location|BuildBackendWarning|^\s*$' || true
  "$venv/bin/python" -c 'import kingsync.sim.cloud' # fail here, not in the tests, if the install broke
  echo "$want" > "$stamp"
fi
