#!/usr/bin/env bash
# Set up (or bring up to date) the project environment in .venv from the lock file.
# Needs only a Python 3.12 interpreter on the machine (pyenv's is found through .python-version);
# uv itself is installed into .tools/ from PyPI when it is not on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
if command -v uv >/dev/null 2>&1; then
  UV=uv
else
  if [ ! -x .tools/bin/uv ]; then
    echo "setup: installing uv into .tools/" >&2
    python3 -m venv .tools
    .tools/bin/pip install --quiet --disable-pip-version-check uv
  fi
  UV=.tools/bin/uv
fi
PY=$(command -v python3.12 || true)
"$UV" sync --locked ${PY:+--python "$PY"} --quiet
