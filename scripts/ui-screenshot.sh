#!/usr/bin/env bash
# The release timeline page in a real browser: runs `agentrelease apply --ui` on the samples (the
# staging and prod releases that become Ready, one whose evaluation summary is missing), loads the page in
# headless Chromium, checks the DOM shows both releases as the page must, and takes a screenshot
# (docs/ui/timeline.png, or $UI_SCREENSHOT). Installs Debian's `chromium` package when it is
# missing and the machine allows it; otherwise it says so and skips.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${UI_SCREENSHOT:-docs/ui/timeline.png}"
WORK="target/ui-screenshot"
rm -rf "$WORK" && mkdir -p "$WORK/manifests"

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium package"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >"$WORK/apt.log" 2>&1; then
      echo "skipped: could not install chromium (see $WORK/apt.log)"; exit 0
    fi
  else
    echo "skipped: chromium is not installed and cannot be installed here (needs root and apt-get)"; exit 0
  fi
fi

BIN="${AGENTRELEASE_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build -q -p agentrelease --bin agentrelease
  BIN="${CARGO_TARGET_DIR:-target}/debug/agentrelease"
fi

# The samples, and a second release of the agent (N=9) whose artifacts do not exist: it blocks
# at the evaluation gate, before it could claim anything.
cp -r config/samples/*.yaml config/samples/workspace "$WORK/manifests/"
sed -e 's/name: skyloyalty-v7/name: skyloyalty-v9/' -e 's/^  version: 7$/  version: 9/' \
  config/samples/agentrelease.yaml >"$WORK/manifests/agentrelease-v9.yaml"
grep -q 'version: 9' "$WORK/manifests/agentrelease-v9.yaml"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT/"
"$BIN" apply -f "$WORK/manifests" --ui "127.0.0.1:$PORT" >"$WORK/apply.out" 2>"$WORK/apply.err" &
APPLY=$!
trap 'kill -INT $APPLY 2>/dev/null || true; wait $APPLY 2>/dev/null || true' EXIT

# Until both releases have ended (apply says so; its page keeps serving).
for _ in $(seq 1 240); do
  grep -q "the releases have ended" "$WORK/apply.err" && break
  kill -0 $APPLY 2>/dev/null || { echo "apply exited early:"; cat "$WORK/apply.err"; exit 1; }
  sleep 0.5
done
grep -q "the releases have ended" "$WORK/apply.err" || { echo "apply did not finish"; cat "$WORK/apply.err"; exit 1; }

CHROMIUM=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --hide-scrollbars --force-device-scale-factor=1)
"${CHROMIUM[@]}" --user-data-dir="$(mktemp -d)" --dump-dom "$URL" >"$WORK/dom.html" 2>"$WORK/chromium-dom.log"
mkdir -p "$(dirname "$OUT")"
"${CHROMIUM[@]}" --user-data-dir="$(mktemp -d)" --window-size=1280,1000 --screenshot="$OUT" "$URL" \
  >"$WORK/chromium-shot.log" 2>&1

failures=0
expect() {
  if grep -qF -- "$1" "$WORK/dom.html"; then echo "ok   the page shows: $1"; else echo "FAIL the page lacks: $1"; failures=$((failures + 1)); fi
}
expect 'Target default/prod'
expect 'id="default-skyloyalty-v7"'
expect 'id="default-skyloyalty-v7-staging"'
expect '<span class="badge done">Ready</span>'
expect 'id="default-skyloyalty-v9"'
expect '<span class="badge failed">Blocked</span>'
expect 'EvaluationMissing'
expect 'answer_correctness'
expect 'eng-lead@skyloyalty.example'
expect 'deployment_plans/v'
if grep -qiE '<script|<form' "$WORK/dom.html"; then echo "FAIL the page has a script or a form"; failures=$((failures + 1)); fi
[ -s "$OUT" ] || { echo "FAIL no screenshot at $OUT"; failures=$((failures + 1)); }
[ "$failures" = 0 ] || { echo "ui screenshot: $failures failure(s)"; exit 1; }
echo "ui screenshot: $OUT ($(wc -c <"$OUT") bytes)"
