#!/usr/bin/env bash
# scripts/fan-in.sh N -- prints the fan-in Dockerfile of N stages that the scale benchmarks
# build (scripts/bench-pipeline.sh, scripts/bench.sh): each stage `FROM busybox:local`, an
# `ENV` and a `WORKDIR`; collector stages of up to 100 stages each copy those stages' work
# directories, and a final stage copies every collector's. No step runs a container.
# (One final stage copying from all N does not build: a stage of more than ~130 layers is
# refused by dockerd 26.1.5, "max depth exceeded", and of ~430 by Docker 28.5, "mount
# options is too long".)
set -euo pipefail
n=${1:?usage: $0 <stages>}
for ((i = 0; i < n; i++)); do
  printf 'FROM busybox:local AS s%d\nENV V%d=x%d\nWORKDIR /w%d\n' $i $i $i $i
done
groups=$(((n + 99) / 100))
for ((g = 0; g < groups; g++)); do
  echo "FROM busybox:local AS g$g"
  for ((i = g * 100; i < n && i < (g + 1) * 100; i++)); do
    echo "COPY --from=s$i /w$i /out/w$i"
  done
done
echo "FROM busybox:local"
for ((g = 0; g < groups; g++)); do echo "COPY --from=g$g /out /out"; done
