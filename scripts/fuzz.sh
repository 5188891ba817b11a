#!/usr/bin/env bash
# Runs the fuzz targets for a bounded time each (FUZZ_SECONDS, default 60) and prints
# executions and crashes per target:
#   parse_convert  Dockerfile bytes through parse → includes → IF/FOR/parameterised
#                  stages → lower → plan → convert (COPY --deps with and without files)
#                  → marshal; seeded with every Dockerfile under testdata/, with a
#                  dictionary of the format's words (fuzz/parse_convert.dict).
#   elf_closure    bytes as a program through the ELF reader and the COPY --deps closure;
#                  seeded with a few of the host's own programs.
# FUZZ_TARGETS picks targets (space-separated). cargo-fuzz needs nightly features;
# RUSTC_BOOTSTRAP=1 lets the stable toolchain here build the libFuzzer-instrumented binary.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-parse_convert elf_closure}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

seed() {
    local target=$1 corpus=fuzz/corpus/$1
    mkdir -p "$corpus"
    case $target in
    parse_convert)
        find testdata -name '*Dockerfile*' -type f -exec sh -c 'for f; do cp "$f" "$0/seed-$(echo "$f" | tr / _)"; done' "$corpus" {} +
        ;;
    elf_closure)
        for f in /usr/bin/true /usr/bin/ls /usr/lib/x86_64-linux-gnu/libacl.so.1; do
            if [ -f "$f" ]; then head -c 65536 "$f" >"$corpus/seed-$(basename "$f")"; fi
        done
        ;;
    esac
}

status=0
summary=()
for target in $targets; do
    seed "$target"
    args=(-max_total_time="$seconds")
    case $target in
    parse_convert) args+=(-max_len=4096 -dict=fuzz/parse_convert.dict) ;;
    elf_closure) args+=(-max_len=65536) ;;
    esac
    log=$(mktemp)
    set +e
    RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- "${args[@]}" 2>&1 |
        tee "$log" | grep -E '^(#[0-9]+\s+(DONE|pulse)|==|SUMMARY|Done)'
    one=${PIPESTATUS[0]}
    set -e
    execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    crashes=$(find "fuzz/artifacts/$target" -type f 2>/dev/null | wc -l)
    summary+=("fuzz: $target: ${execs:-0} executions in ${seconds}s, ${crashes} crash artifacts, exit ${one}")
    rm -f "$log"
    if [ "$one" -ne 0 ]; then status=$one; fi
done
printf '%s\n' "${summary[@]}"
exit "$status"
