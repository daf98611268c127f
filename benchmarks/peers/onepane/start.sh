#!/usr/bin/env bash
# Onepane as a peer of the graphql-benchmarks harness (../shared/bench/README.md, "Peer
# contract"). Installs this repository's commit ($ONEPANE_REF, default HEAD; plus uvloop) into a
# venv under $BENCH_CACHE keyed by the commit, never inside the repository. Then serves
# onepane.yaml ($ONEPANE_CONFIG when set: another peer folder's config) with one worker in the
# foreground. ONEPANE_LOOP=asyncio turns uvloop off.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${PORT:?}" "${UPSTREAM:?}"
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
exec "$venv/bin/federation" serve "${ONEPANE_CONFIG:-$here/onepane.yaml}" --host 127.0.0.1 --port "$PORT" --workers 1
