#!/usr/bin/env bash
# Onepane with users looked up at /users/{id} (onepane.yaml here) as a peer of the
# graphql-benchmarks harness: the same install and serve as ../onepane/start.sh, this config.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ONEPANE_CONFIG="$here/onepane.yaml" exec "$here/../onepane/start.sh"
