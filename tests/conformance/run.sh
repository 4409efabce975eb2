#!/usr/bin/env bash
# Conformance: drive the workspace simulator only through the official Databricks SDK for Python.
# Needs Python 3.11+ with pip and the Rust toolchain; everything else is installed here.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV="${CONFORMANCE_VENV:-target/conformance-venv}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

scripts/venv.sh "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/conformance/requirements.txt

cargo build --quiet -p agentrelease
BIN="$TARGET_DIR/debug/agentrelease"

# Stray Databricks settings would change how the SDK authenticates.
for v in $(env | grep -o '^DATABRICKS_[A-Z_]*' || true); do unset "$v"; done

OUT="$(mktemp)"
"$BIN" sim --port 0 --seed tests/conformance/seed.yaml --time-scale 50 >"$OUT" 2>/dev/null &
SIM_PID=$!
cleanup() { kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; rm -f "$OUT"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  if grep -q '^listening on ' "$OUT"; then break; fi
  if ! kill -0 "$SIM_PID" 2>/dev/null; then echo "the simulator exited early" >&2; exit 1; fi
  sleep 0.1
done
SIM_URL="$(sed -n 's/^listening on //p' "$OUT" | head -n1)"
if [ -z "$SIM_URL" ]; then echo "the simulator did not report its URL" >&2; exit 1; fi

export SIM_URL SIM_TOKEN=dapi-sim-admin
export DATABRICKS_DISABLE_EXPERIMENTAL_FILES_API_CLIENT=true
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/conformance "$@"
