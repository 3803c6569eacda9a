#!/usr/bin/env bash
# Build the sharaka-events wheel from shared/events into packages/sharaka-events/dist/.
#
# The contract modules are copied into a staging project as the package `sharaka_events`, with
# `shared.events` imports rewritten, together with the published JSON Schemas; the wheel is built
# by uv's integrated build backend, so nothing is downloaded. Extra arguments go to `uv build`
# (e.g. --offline). UV may name the uv to use; default: the project's own, else the one on PATH.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
uv="${UV:-$repo/.local/tools/bin/uv}"
[[ -x "$uv" ]] || uv="uv"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

pkg="$stage/src/sharaka_events"
mkdir -p "$pkg/schemas"
cp "$here/pyproject.toml" "$here/README.md" "$stage/"
# schemas.py is the exporter and checker of this repository, not a contract: left out.
for src in "$repo"/shared/events/*.py; do
  name="$(basename "$src")"
  [[ "$name" == "schemas.py" ]] && continue
  sed -e 's/\bshared\.events\b/sharaka_events/g' "$src" > "$pkg/$name"
done
if grep -rn "shared\." "$pkg" --include='*.py'; then
  echo "build.sh: a contract module still imports from shared (above); only shared.events is packaged" >&2
  exit 1
fi
cp "$repo"/schemas/events/*.json "$pkg/schemas/"
touch "$pkg/py.typed"

mkdir -p "$here/dist"
rm -f "$here"/dist/sharaka_events-*.whl
"$uv" build --wheel --no-cache --out-dir "$here/dist" "$@" "$stage"
