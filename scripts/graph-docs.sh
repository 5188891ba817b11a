#!/usr/bin/env bash
# scripts/graph-docs.sh -- redraws docs/graph/<case>.svg, the stage graph `strata graph`
# draws for each testdata/graph/<case>.Dockerfile (with its <case>.args). The test
# frontend/tests/graph_svg.rs fails while a checked-in picture differs from what the code
# draws; after a layout or fixture change, run this, look at the pictures, commit them.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f docs/graph/*.svg
STRATA_GRAPH_DOCS=write cargo test --quiet -p strata --test graph_svg
git status --short docs/graph
