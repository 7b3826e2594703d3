#!/usr/bin/env bash
# The whole kinemic pipeline on the built-in demo world, on a laptop CPU, offline.
# Outputs go to ./quickstart/ (store, run folders, renders, reports).
set -euo pipefail
OUT=${KINEMIC_QUICKSTART_DIR:-quickstart}
mkdir -p "$OUT"
export KINEMIC_STORE="$OUT/kinemic.h5"

echo "== 1. prepare: the demo target set (with a 10-shot split) and the captioned source corpus"
kinemic prepare --dataset demo --shots 10 --seed 42 --overwrite
kinemic prepare --dataset demo-t2m --overwrite
kinemic store ls
kinemic render --collection demo --per-class 1 --split xsub/train --limit 12 --out "$OUT/demo_classes.gif"
