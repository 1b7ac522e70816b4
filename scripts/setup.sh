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
# (the interpreter itself, not pyenv's shim: uv took a venv made from it for another Python than the shim's path
# asked for, and removed and made it again on every run, reinstalling every package)
PY=$(python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
# Compiled bytecode for every installed module, once per lock file: uv installs none, and where Python is told not to
# write it (PYTHONDONTWRITEBYTECODE, as on some CI machines) every process compiled every module it imported, each
# time: about 8 s of each `panel serve` start (up in 4.8 s instead of 12 s), and of each command the tests run.
stamp=".venv/.bytecode-$(cksum < uv.lock | cut -d' ' -f1)"
compile=""
if [ ! -f "$stamp" ]; then
  echo "setup: installing and compiling the environment's bytecode (once per uv.lock, a minute or two) ..." >&2
  compile="--compile-bytecode"
fi
"$UV" sync --locked ${PY:+--python "$PY"} --quiet $compile
if [ -n "$compile" ]; then
  rm -f .venv/.bytecode-*
  touch "$stamp"
fi
.venv/bin/python -m compileall -q -j 0 artemis_panel store jobs >/dev/null  # (the project's own: only what changed)
