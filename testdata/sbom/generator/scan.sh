#!/bin/sh
# BuildKit's SBOM generator protocol (docs/attestations/sbom-protocol.md upstream): scan
# $BUILDKIT_SCAN_SOURCE and every directory in $BUILDKIT_SCAN_SOURCE_EXTRAS (if set), and
# write one in-toto statement with an SPDX predicate per target to
# $BUILDKIT_SCAN_DESTINATION/<target>.spdx.json. Instead of packages, each document
# records what the test checks: the target's name, every path in it, the content of its
# /sbom-marker file, and the BUILDKIT_SCAN_* variables the generator was given.
set -eu
out=${BUILDKIT_SCAN_DESTINATION:?BUILDKIT_SCAN_DESTINATION is not set}
src=${BUILDKIT_SCAN_SOURCE:?BUILDKIT_SCAN_SOURCE is not set}
scan_env=$(env | grep '^BUILDKIT_SCAN_' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')

scan() {
  name=$(basename "$1")
  files=$(cd "$1" && find . | grep -v '^\.$' | sed 's/^\.//' | LC_ALL=C sort |
    awk '{ printf "%s{\"SPDXID\":\"SPDXRef-File-%d\",\"fileName\":\"%s\"}", (NR > 1 ? "," : ""), NR, $0 }')
  marker=none
  if [ -f "$1/sbom-marker" ]; then
    marker=$(tr -d '\n"\\' < "$1/sbom-marker")
  fi
  printf '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"%s","documentNamespace":"https://strata.invalid/sbom/%s","creationInfo":{"creators":["Tool: strata-sbom-generator"],"comment":"%s"},"comment":"marker: %s","files":[%s]}}\n' \
    "$name" "$name" "$scan_env" "$marker" "$files" > "$out/$name.spdx.json"
}

scan "$src"
extras=${BUILDKIT_SCAN_SOURCE_EXTRAS:-}
if [ -n "$extras" ] && [ -d "$extras" ]; then
  for dir in "$extras"/*; do
    if [ -d "$dir" ]; then
      scan "$dir"
    fi
  done
fi
