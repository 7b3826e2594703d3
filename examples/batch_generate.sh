#!/usr/bin/env bash
# Parallel sharded generation, then one merge: the union of the shards equals the
# unsharded run clip for clip (each clip depends only on (seed, class, index)).
#
#   examples/batch_generate.sh RUN_DIR COLLECTION PER_CLASS [SHARDS] [SEED]
#   examples/batch_generate.sh --counts counts.csv RUN_DIR COLLECTION [SHARDS] [SEED]
#
# counts.csv has one line per class: `class_name,count` (a header line `class,count` is
# allowed); YAML works too through `kinemic generate --counts counts.yaml`.
# The store is $KINEMIC_STORE (default ./kinemic.h5).
set -euo pipefail

counts=()
if [ "${1:-}" = "--counts" ]; then
    counts=(--counts "$2")
    shift 2
    run=$1; name=$2; shards=${3:-2}; seed=${4:-0}
    amount=()
else
    run=$1; name=$2; per_class=$3; shards=${4:-2}; seed=${5:-0}
    amount=(--per-class "$per_class")
fi

# each shard uses its share of the cores
threads=$(( $(nproc) / shards )); [ "$threads" -ge 1 ] || threads=1
pids=()
for ((i = 0; i < shards; i++)); do
    if kinemic store info "$name-shard$i" --json > /dev/null 2>&1; then
        continue  # finished in an earlier run of this script
    fi
    OMP_NUM_THREADS=$threads kinemic generate --model "$run" "${amount[@]}" "${counts[@]}" --seed "$seed" \
        --shard "$i/$shards" --collection "$name-shard$i" --resume --json > "$name-shard$i.json" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
if [ "$status" -ne 0 ]; then
    echo "a shard failed; re-run this script: finished shards are kept and an interrupted one resumes" >&2
    exit 1
fi
parts=()
for ((i = 0; i < shards; i++)); do parts+=("$name-shard$i"); done
kinemic store merge "${parts[@]}" --into "$name" --remove-sources --json
rm -f "$name"-shard*.json
