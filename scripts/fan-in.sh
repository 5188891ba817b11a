#!/usr/bin/env bash
# scripts/fan-in.sh N -- prints the fan-in Dockerfile of N stages that the scale benchmarks
# build (scripts/bench-pipeline.sh, scripts/bench.sh): each stage `FROM busybox:local`,
# an `ENV` and a `WORKDIR`; a final stage copies every stage's work directory. No step runs
# a container, so a cold build of 5,000 stages takes seconds, not hours.
set -euo pipefail
n=${1:?usage: $0 <stages>}
for ((i = 0; i < n; i++)); do
  printf 'FROM busybox:local AS s%d\nENV V%d=x%d\nWORKDIR /w%d\n' $i $i $i $i
done
echo "FROM busybox:local"
for ((i = 0; i < n; i++)); do echo "COPY --from=s$i /w$i /w$i"; done
