#!/usr/bin/env bash
# Onepane as a peer of the c360 harness (../shared/bench/c360/README.md, "Peers"): serves
# onepane.yaml over $SHOP_DSN and $POS_DSN. Installs this repository's commit ($ONEPANE_REF,
# default HEAD; plus uvloop) into a venv under $BENCH_CACHE keyed by the commit, never inside the
# repository, and serves with one worker in the foreground (ONEPANE_WORKERS to change that).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${PORT:?}" "${SHOP_DSN:?}" "${POS_DSN:?}"
# The harness gives libpq DSNs; the SQL connector takes SQLAlchemy async URLs.
export SHOP_URL="postgresql+asyncpg://${SHOP_DSN#postgresql://}" POS_URL="postgresql+asyncpg://${POS_DSN#postgresql://}"
repo="$(cd "$here/../../.." && pwd)"
py="${BENCH_PYTHON:-python3}"
ref="${ONEPANE_REF:-HEAD}"  # a committed tree only: others' work in progress never leaks in
commit="$(git -C "$repo" rev-parse --short=12 "$ref")"
cache="${BENCH_CACHE:-$HOME/.cache/onepane-bench}"
venv="$cache/onepane-$commit"
if [ ! -f "$venv/.installed" ]; then
  src="$(mktemp -d)"
  git -C "$repo" archive "$commit" pyproject.toml README.md federation connectors | tar -x -C "$src"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$src[speed]" >&2
  rm -rf "$src"
  touch "$venv/.installed"
fi
export PYTHONUNBUFFERED=1 ONEPANE_LOOP="${ONEPANE_LOOP:-}"
"$venv/bin/python" -c "import sys, importlib.metadata as m; print('peer-version: onepane', '$commit', '+ strawberry-graphql', m.version('strawberry-graphql'), '+ aiohttp', m.version('aiohttp') + ', python', sys.version.split()[0])" >&2
exec "$venv/bin/federation" serve "$here/onepane.yaml" --host 127.0.0.1 --port "$PORT" --workers "${ONEPANE_WORKERS:-1}"
