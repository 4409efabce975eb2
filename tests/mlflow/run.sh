#!/usr/bin/env bash
# Runs the client's workspace-registry and tracking calls against an open-source MLflow server.
# Installs mlflow into a virtual environment; when it cannot be installed (no package index), the
# check is skipped with a message rather than failing.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV="${MLFLOW_VENV:-target/mlflow-venv}"
DATA="$(mktemp -d)"
if [ ! -x "$VENV/bin/mlflow" ]; then
  scripts/venv.sh "$VENV"
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/mlflow/requirements.txt; then
    echo "mlflow could not be installed; skipping the open-source MLflow check"
    exit 0
  fi
fi

PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
MLFLOW_DISABLE_TELEMETRY=true "$VENV/bin/mlflow" server \
  --backend-store-uri "sqlite:///$DATA/mlflow.db" --artifacts-destination "$DATA/artifacts" \
  --host 127.0.0.1 --port "$PORT" --workers 1 >"$DATA/server.log" 2>&1 &
SERVER=$!
cleanup() { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

for _ in $(seq 1 120); do
  if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/health', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$SERVER" 2>/dev/null; then echo "mlflow server exited:"; cat "$DATA/server.log"; exit 1; fi
  sleep 0.5
done

MLFLOW_TRACKING_URI="http://127.0.0.1:$PORT" cargo test -q -p agentrelease-databricks --test against_mlflow -- --nocapture
