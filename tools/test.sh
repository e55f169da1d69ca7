#!/bin/bash
# Everything CI runs: lint, types, and the whole test suite, including the
# conformance suite against a real three-region OpenStack (devcloud).
#
#   tools/test.sh            everything (brings devcloud up: 3 min from nothing)
#   tools/test.sh --quick    without devcloud: its conformance cases skip
#   tools/test.sh -- ARGS    extra pytest arguments, e.g. -- -k keypair
#
# Under CI=true nothing may skip for want of a service: a devcloud that does
# not come up fails the run.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
quick=no
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=yes ;;
    --) shift; pytest_args=("$@"); break ;;
    *) echo "usage: tools/test.sh [--quick] [-- pytest args]" >&2; exit 2 ;;
  esac
  shift
done

tools/setup-venv.sh
venv=${KINGSYNC_VENV:-$top/.venv}
export PATH=$venv/bin:$PATH

echo "== lint (ruff) and types (mypy)"
ruff check kingsync tests bench
ruff format --check kingsync tests bench
mypy

started_devcloud=no
if [ "$quick" = no ]; then
  if ! tools/devcloud/devcloud status >/dev/null 2>&1; then
    started_devcloud=yes
  fi
  echo "== devcloud up (real keystone, nova, glance, neutron, cinder in 3 regions)"
  tools/devcloud/devcloud up
fi
stop_devcloud() {
  # In CI the machine's memory goes back; locally a cloud we started is stopped,
  # one that was already running is left as it was.
  if [ "$started_devcloud" = yes ] || [ "${CI:-}" = true ]; then
    tools/devcloud/devcloud down || true
  fi
}
trap stop_devcloud EXIT

echo "== pytest"
python -m pytest "${pytest_args[@]}"
