"""The uplift table on the demo world, end to end through the real ``kinemic`` CLI.

Does synthetic data make a recogniser better?  This script runs, as subprocesses:

    kinemic prepare --dataset demo / demo-t2m               (once; skipped if in the store)
    kinemic pretrain --source demo-t2m ...                  (only with --pretrain-steps; else --prior, default: builtin:demo)
    kinemic adapt --method finetune|lora|kinemic ...        (10 shots per class, few-shot seed = --fewshot-seed)
    kinemic generate --model <adapt run> --per-class N --collection demo-synth-<method>
    kinemic train-har --train real|augment|gt|mixed ... --seeds 1 2 3
    kinemic filter demo-synth-<method> --judge <work>/har-augment ...   (only with --recipes ...judged)
    kinemic evaluate <har runs> --evaluator <work>/evaluator --out <work>/table

and writes ``<work>/uplift.md`` + ``<work>/uplift.json``: accuracy (mean +- std over seeds,
last epoch = headline, validation-selected beside it) of real / augment / mixed x 3 / gt, the
FID / diversity / multimodality / recognition accuracy of each synthetic set, and the
targets (kinemic-mixed >= real + 15 points, > finetune-mixed, > augment) checked.

``--recipes`` adds rows per generator beyond the plain ``mixed`` (shots + synthetic):

- ``augment``: ``mixed --augment-shots`` (shots + their geometric copies + synthetic), the
  generator on top of the classic baseline;
- ``judged``: the same, with the synthetic set first passed through ``kinemic filter`` with
  the ``augment`` recognisers as judge (only clips a 10-shot recogniser recognises are kept).

Every step is skipped when its output already exists, so a failed or interrupted run is
continued by running the same command again.  ``--quick`` shrinks everything for a smoke
test (minutes, numbers meaningless).

    python bench/uplift.py --work runs/uplift                 # the real table (long on a CPU)
    python bench/uplift.py --work /tmp/uplift-quick --quick   # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

METHODS = ("finetune", "lora", "kinemic")
RECIPES = {  # name -> (har folder prefix, row label, extra train-har flags, judged synthetic set?)
    "mixed": ("mixed", "mixed ({m})", [], False),
    "augment": ("mixaug", "mixed + augment ({m})", ["--augment-shots"], False),
    "judged": ("mixaug", "mixed + augment + judged ({m})", ["--augment-shots"], True),
}


def kinemic_exe() -> str:
    return shutil.which("kinemic") or str(Path(sys.executable).with_name("kinemic"))


class Runner:
    def __init__(self, work: Path, log: list[dict]):
        self.work, self.log = work, log

    def __call__(self, *args: str, skip_if: Path | None = None, json_out: bool = False):
        if skip_if is not None and skip_if.exists():
            print(f"[skip] kinemic {' '.join(args[:3])} ... ({skip_if} exists)", flush=True)
            return None
        cmd = [kinemic_exe(), *args] + (["--json"] if json_out else [])
        print(f"[run ] {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        proc = subprocess.run(cmd, text=True, env=env, stdout=subprocess.PIPE if json_out else None)
        seconds = time.perf_counter() - t0
        self.log.append({"command": cmd[1:], "seconds": round(seconds, 1), "returncode": proc.returncode})
        if proc.returncode != 0:
            raise SystemExit(f"step failed ({proc.returncode}): {' '.join(cmd[1:])}")
        print(f"[done] {seconds:.0f}s", flush=True)
        return json.loads(proc.stdout) if json_out else None


def _store_has(store: Path, name: str) -> bool:
    from kinemic_cli.store import MotionStore

    return store.exists() and MotionStore(store).has(name)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("runs/uplift"), help="work folder (store, runs, table)")
    p.add_argument("--store", type=Path, default=None, help="motion store (default: <work>/kinemic.h5)")
    p.add_argument("--prior", default="builtin:demo", help="prior folder, or builtin:demo (the shipped demo prior)")
    p.add_argument("--pretrain-steps", type=int, default=None, help="pretrain a prior for this many steps instead")
    p.add_argument("--pretrain-preset", default="small")
    p.add_argument("--shots", type=int, default=10)
    p.add_argument("--fewshot-seed", type=int, default=42, help="few-shot draw (--fewshot-seed of adapt and train-har)")
    p.add_argument("--seeds", default="1,2,3", help="training seeds of every recogniser")
    p.add_argument("--adapt-steps", type=int, default=None, help="adapt --max-steps (default: adapt's own)")
    p.add_argument("--per-class", type=int, default=50, help="generated clips per class")
    p.add_argument("--sampler", default="ddpm", help="generate --sampler")
    p.add_argument("--guidance", type=float, default=2.5, help="generate --guidance")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--recipes", default="mixed", help=f"rows per generator: {', '.join(RECIPES)} (comma-separated)")
    p.add_argument("--recipe-methods", default=None,
                   help="generators that get the --recipes beyond plain mixed (default: all of --methods)")
    p.add_argument("--har-model", default="stgcn-small")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--device", default="cpu")
    p.add_argument("--quick", action="store_true", help="smoke test: tiny everything")
    args = p.parse_args()
    if args.quick:
        args.adapt_steps, args.per_class, args.epochs, args.har_model = args.adapt_steps or 20, 4, 2, "stgcn-tiny"
        args.seeds = "1"
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    store = args.store or work / "kinemic.h5"
    log: list[dict] = []
    run = Runner(work, log)
    common = ["--store", str(store)]
    seeds = [s for s in args.seeds.replace(",", " ").split()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    unknown = sorted(set(recipes) - set(RECIPES))
    if unknown:
        raise SystemExit(f"--recipes: unknown {unknown}; expected some of {', '.join(RECIPES)}")
    recipe_methods = methods if args.recipe_methods is None else [m.strip() for m in args.recipe_methods.split(",")]

    for dataset in ("demo", "demo-t2m"):
        if not _store_has(store, dataset):
            run("prepare", "--dataset", dataset, *common)
    prior = args.prior
    if args.pretrain_steps:
        prior = str(work / "prior")
        run("pretrain", "--source", "demo-t2m", "--preset", args.pretrain_preset, "--max-steps", str(args.pretrain_steps),
            "--out", prior, "--device", args.device, *common, skip_if=work / "prior" / "config.json")
    for method in methods:
        out = work / f"adapt-{method}"
        steps = ["--max-steps", str(args.adapt_steps)] if args.adapt_steps else []
        run("adapt", "--dataset", "demo", "--source", "demo-t2m", "--prior", prior, "--method", method, "--shots",
            str(args.shots), "--fewshot-seed", str(args.fewshot_seed), "--out", str(out), "--device", args.device, *steps, *common,
            skip_if=out / "adapted.json")  # the manifest is written last: its presence means a finished run
        if not _store_has(store, f"demo-synth-{method}"):
            run("generate", "--model", str(out), "--per-class", str(args.per_class), "--collection",
                f"demo-synth-{method}", "--sampler", args.sampler, "--guidance", str(args.guidance), "--device",
                args.device, *common)
    har = ["--dataset", "demo", "--shots", str(args.shots), "--fewshot-seed", str(args.fewshot_seed), "--seeds", *seeds,
           "--model", args.har_model, "--epochs", str(args.epochs), "--device", args.device, *common]
    folders, labels = [], []

    def train(name: str, label: str, *flags: str) -> None:
        folder = work / f"har-{name}"
        run("train-har", *flags, "--out", str(folder), *har, skip_if=folder / "results.json")
        folders.append(str(folder))
        labels.append(label)

    train("real", "real", "--train", "real")
    train("augment", "augment", "--train", "augment")
    for recipe in recipes:
        prefix, label, flags, judged = RECIPES[recipe]
        for method in methods if recipe == "mixed" else [m for m in methods if m in recipe_methods]:
            synthetic = f"demo-synth-{method}"
            if judged:
                if not _store_has(store, f"{synthetic}-judged"):
                    run("filter", synthetic, "--judge", str(work / "har-augment"), "--out", f"{synthetic}-judged",
                        "--device", args.device, *common)
                synthetic += "-judged"
            name = f"{prefix}-{method}" + ("-judged" if judged else "")
            train(name, label.format(m=method), "--train", "mixed", *flags, "--synthetic", synthetic)
    train("gt", "gt", "--train", "gt")
    report = run("evaluate", *folders, "--evaluator", str(work / "evaluator"), "--dataset", "demo", "--labels",
                 ",".join(labels), "--title", f"uplift on the demo world ({args.shots} shots, seeds {' '.join(seeds)})",
                 "--out", str(work / "table"), "--evaluator-model", args.har_model, "--evaluator-epochs", str(args.epochs),
                 "--device", args.device, *common, json_out=True)
    acc = {row["label"]: row["summary"][report["headline"]]["accuracy"]["mean"] for row in report["rows"]}
    checks = {}
    for recipe in recipes:
        label = RECIPES[recipe][1]
        k = acc.get(label.format(m="kinemic"))
        if k is None:
            continue
        key = "kinemic" if recipe == "mixed" else f"kinemic_{recipe}"
        checks[f"{key}_minus_real_points"] = 100 * (k - acc["real"])
        checks[f"{key}_beats_real_by_15"] = 100 * (k - acc["real"]) >= 15
        checks[f"{key}_beats_augment"] = k > acc["augment"]
        if label.format(m="finetune") in acc:
            checks[f"{key}_beats_finetune"] = k > acc[label.format(m="finetune")]
    checks["gt_minus_real_points"] = 100 * (acc["gt"] - acc["real"])
    table_md = (work / "table" / "report.md").read_text()
    lines = [table_md, "## Targets", ""] + [f"- {k}: {v:.1f}" if isinstance(v, float) else f"- {k}: {v}"
                                           for k, v in checks.items()]
    lines += ["", "## Commands", ""] + [f"- `kinemic {' '.join(e['command'])}` ({e['seconds']} s)" for e in log]
    (work / "uplift.md").write_text("\n".join(lines) + "\n")
    (work / "uplift.json").write_text(json.dumps({"accuracy": acc, "checks": checks, "report": report, "steps": log,
                                                  "quick": args.quick}, indent=1, default=float))
    print("\n".join(lines[:1]))
    print(json.dumps(checks, indent=1))
    print(f"written {work / 'uplift.md'} and {work / 'uplift.json'}")


if __name__ == "__main__":
    main()
