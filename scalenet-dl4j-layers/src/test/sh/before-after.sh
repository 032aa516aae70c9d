#!/usr/bin/env bash
# Before/after benchmark of the project's own half: every workload of ScaleNetBenchmark, run alternately at an older
# commit and at this checkout, in fresh JVMs, for several rounds, so that both see the same machine state.
#   [BEFORE_JVM=...] [AFTER_JVM=...] [WORKS=train] scalenet-dl4j-layers/src/test/sh/before-after.sh <old-commit> [rounds] [out.jsonl]
# BEFORE_JVM / AFTER_JVM: each version's JVM options (default -Xmx4g for both); WORKS: keep the workloads whose name
# contains it (default: all).
# Prints one JSON line per run (BenchWorkload's), tagged with "version" and "round"; the benchmarks page's
# before/after table is the median per version of these lines.
set -euo pipefail
old=${1:?usage: before-after.sh <old-commit> [rounds] [out.jsonl]}
rounds=${2:-2}
out=${3:-target/before-after.jsonl}
here=$(cd "$(dirname "$0")/../../.." && pwd)   # scalenet-dl4j-layers
root=$(cd "$here/.." && pwd)
tree=$root/target/before-after-$old
if [ ! -d "$tree" ]; then git -C "$root" worktree add -q --detach "$tree" "$old"; fi
classpath() { # the module's test classpath, built once
  (cd "$1/scalenet-dl4j-layers" && [ -f cp.txt ] || mvn -o -B -q test-compile dependency:build-classpath \
    -Dmdep.outputFile=cp.txt -Dmdep.includeScope=test >/dev/null)
  echo "$1/scalenet-dl4j-layers/target/test-classes:$1/scalenet-dl4j-layers/target/classes:$(cat "$1/scalenet-dl4j-layers/cp.txt")"
}
(cd "$here" && mvn -o -B -q test-compile dependency:build-classpath -Dmdep.outputFile=cp.txt -Dmdep.includeScope=test >/dev/null)
declare -A cp=([before]=$(classpath "$tree") [after]=$(classpath "$root"))
# workload, batch, warm-up iterations, warm-up seconds, timed iterations: ScaleNetBenchmark's rows
works=(
  "block-forward 8 20 0 10" "block-train 8 20 0 10"
  "micro-train 128 60 8 30" "micro8-train 128 40 8 20"
  "micro-infer 1 200 8 200" "micro-infer 128 100 8 20" "micro8-infer 1 200 8 200" "micro8-infer 128 60 8 20"
  "tiny-train 32 6 0 5" "tiny-infer 1 10 0 30" "tiny-infer 32 3 0 5" "tiny-infer 128 2 0 3"
  "tiny24-train 32 6 0 3" "tiny24-infer 32 3 0 3"
)
declare -A jvm=([before]=${BEFORE_JVM:--Xmx4g} [after]=${AFTER_JVM:--Xmx4g})
mkdir -p "$(dirname "$out")"
for round in $(seq 1 "$rounds"); do
  for w in "${works[@]}"; do
    read -r name batch warmup seconds iters <<<"$w"
    [[ "$name" == *"${WORKS:-}"* ]] || continue
    for version in before after; do
      # shellcheck disable=SC2086 # the options are words
      line=$(java ${jvm[$version]} -cp "${cp[$version]}" dev.scalenet.bench.BenchWorkload "$name" --batch "$batch" --warmup "$warmup" \
        --warmup-seconds "$seconds" --iters "$iters" 2>/dev/null | tail -n 1)
      echo "{\"version\": \"$version\", \"round\": $round, \"batch\": $batch, \"jvm\": \"${jvm[$version]}\", \"result\": $line}" | tee -a "$out"
    done
  done
done
