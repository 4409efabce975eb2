#!/usr/bin/env bash
# Creates a Python virtual environment at $1 (if missing). Falls back to `virtualenv` when the
# interpreter's venv module cannot bootstrap pip (a python3 without ensurepip).
set -euo pipefail
dir="$1"
if [ -x "$dir/bin/python" ] && "$dir/bin/python" -m pip --version >/dev/null 2>&1; then
  exit 0
fi
rm -rf "$dir"
if python3 -m venv "$dir" >/dev/null 2>&1 && "$dir/bin/python" -m pip --version >/dev/null 2>&1; then
  exit 0
fi
rm -rf "$dir"
python3 -m pip install --quiet --user --disable-pip-version-check virtualenv
python3 -m virtualenv --quiet "$dir"
