#!/usr/bin/env bash
# The whole kinemic pipeline on the built-in demo world, on a laptop CPU, offline:
# prepare -> pretrain -> adapt -> generate -> train-har -> evaluate.
# Outputs go to ./quickstart/ (store, run folders, renders, report).  Sizes are cut down so
# that it runs in minutes (README says how many, measured); bench/uplift.py runs the full-size
# comparison.
set -euo pipefail
OUT=${KINEMIC_QUICKSTART_DIR:-quickstart}
mkdir -p "$OUT"
export KINEMIC_STORE="$OUT/kinemic.h5"

echo "== 1. prepare: the demo target set (with a 10-shot split) and the captioned source corpus"
kinemic prepare --dataset demo --shots 10 --fewshot-seed 42 --overwrite
kinemic prepare --dataset demo-t2m --overwrite
kinemic store ls
kinemic render --collection demo --per-class 1 --split xsub/train --out "$OUT/demo_classes.gif"

echo "== 2. pretrain: a text-to-motion prior (a short tiny run to show the command; the shipped"
echo "      builtin:demo prior was made by the same command, see kinemic_cli/assets/priors/demo)"
rm -rf "$OUT/prior-tiny"
kinemic pretrain --source demo-t2m --preset tiny --max-frames 100 --long-windows skip --max-steps 40 \
    --out "$OUT/prior-tiny"
kinemic generate --model builtin:demo --text "a person waves with the right hand" --n 4 --length 50 \
    --sampler ddim --steps 20 --collection prompt-wave --overwrite --out "$OUT/prompt_wave.gif"

echo "== 3. adapt: KineMIC few-shot adaptation of the prior to the 14 demo classes (10 shots each)"
kinemic adapt --dataset demo --prior builtin:demo --shots 10 --fewshot-seed 42 --show-mining --top-k 5 > "$OUT/mining.txt"
head -n 30 "$OUT/mining.txt"; echo "... (the whole mining report: $OUT/mining.txt)"
rm -rf "$OUT/adapt-kinemic"
kinemic adapt --dataset demo --prior builtin:demo --shots 10 --fewshot-seed 42 --max-steps 60 --out "$OUT/adapt-kinemic"

echo "== 4. generate: synthetic clips of every class into the store"
kinemic generate --model "$OUT/adapt-kinemic" --per-class 20 --sampler ddim --steps 20 \
    --collection demo-synth --overwrite --out "$OUT/generated.gif"

echo "== 5. train-har: ST-GCN on the 10 real shots vs. real + synthetic"
rm -rf "$OUT/har-real" "$OUT/har-mixed"
kinemic train-har --dataset demo --train real --shots 10 --fewshot-seed 42 --seeds 1 --model stgcn-tiny \
    --epochs 4 --out "$OUT/har-real"
kinemic train-har --dataset demo --train mixed --synthetic demo-synth --shots 10 --fewshot-seed 42 --seeds 1 \
    --model stgcn-tiny --epochs 4 --out "$OUT/har-mixed"

echo "== 6. evaluate: accuracy table and generative metrics (Markdown report with plots)"
rm -rf "$OUT/report"
kinemic evaluate "$OUT/har-real" "$OUT/har-mixed" --labels real,mixed --synthetic demo-synth --dataset demo \
    --evaluator "$OUT/evaluator" --evaluator-model stgcn-tiny --evaluator-epochs 4 --out "$OUT/report"
echo "done. One real clip per class: $OUT/demo_classes.gif; every class's first real shot beside one"
echo "generated clip of it: $OUT/generated.gif; report: $OUT/report/report.md."
echo "The motion store is $KINEMIC_STORE: look inside with"
echo "    kinemic store ls --store $KINEMIC_STORE      (or: export KINEMIC_STORE=$KINEMIC_STORE)"
echo "At these cut-down sizes (60 adapt steps, 4 epochs, 20 clips per class) the accuracies say"
echo "nothing about the method; bench/uplift.py runs the full-size comparison (README, Results)."
