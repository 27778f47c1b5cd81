#!/usr/bin/env bash
# Runs cargo-fuzz targets for FUZZ_SECONDS each (default 60) and prints executions and crashes per
# target. Usage: tools/fuzz.sh [target...] (default: every target `cargo fuzz list` knows).
# Corpora grow in fuzz/corpus/<target> (seeded from fuzz/seeds/<target>); crash, timeout and
# out-of-memory inputs land in fuzz/artifacts/<target>; each run's log in fuzz/target/<target>.log.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
# No sanitizer: the crate has no unsafe code, and libFuzzer catches panics, stack overflows,
# timeouts and memory blow-ups itself. Debug assertions on, so arithmetic overflow panics.
flags=(--fuzz-dir fuzz --sanitizer none --debug-assertions)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi
cargo +nightly fuzz build "${flags[@]}" || exit 1

failed=0
summary=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  log="fuzz/target/$t.log"
  before=$(find "fuzz/artifacts/$t" -type f | sort)
  seeds=()
  [ -d "fuzz/seeds/$t" ] && seeds=("fuzz/seeds/$t")
  echo "fuzzing $t for ${seconds}s ..."
  cargo +nightly fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" "${seeds[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  new=$(comm -13 <(echo "$before") <(find "fuzz/artifacts/$t" -type f | sort) | sed '/^$/d')
  crashes=$(echo -n "$new" | grep -c '^' || true)
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  line=$(printf '%-10s %12s executions  %d crashes' "$t" "${execs:-?}" "$crashes")
  if [ "$crashes" -gt 0 ]; then
    failed=1
    line+="  (see $log; reproduce: cargo +nightly fuzz run --fuzz-dir fuzz $t <artifact>)"
    grep -m1 -A3 'panicked at' "$log" || tail -5 "$log"
    echo "$new"
  fi
  echo "$line"
  summary+=("$line")
done

echo
printf '%s\n' "${summary[@]}"
exit "$failed"
