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
- ``weighted``: ``augment`` with ``--synthetic-weight`` (a generated clip counts less than a shot);
- ``judged``: the same, with the synthetic set first passed through ``kinemic filter`` with
  the ``augment`` recognisers as judge (only clips a 10-shot recogniser recognises are kept);
- ``fewer``: plain ``mixed`` with at most ``--fewer-per-class`` generated clips per class
  (``train-har --synthetic-per-class``): as many synthetic clips as shots, not five times more.

``--ablation NAME="--adapt --options"`` adds a KineMIC variant (one plain ``mixed`` row each),
``--method-options kinemic="..."`` sets a method's adapt options, ``--world-seed`` picks
another demo world, and ``--parallel 2`` runs independent steps two at a time (one thread
each), which on a 2-core CPU finishes the table sooner than two threads per step.

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
    "weighted": ("mixw", "mixed + augment + synthetic weight {w} ({m})", ["--augment-shots"], False),
    "judged": ("mixaug", "mixed + augment + judged ({m})", ["--augment-shots"], True),
    "fewer": ("mixed-n{n}", "mixed with {n} synthetic per class ({m})", [], False),
}


def kinemic_exe() -> str:
    return shutil.which("kinemic") or str(Path(sys.executable).with_name("kinemic"))


class Runner:
    def __init__(self, work: Path, log: list[dict], threads: int | None = None):
        self.work, self.log, self.threads = work, log, threads

    def __call__(self, *args: str, skip_if: Path | None = None, json_out: bool = False):
        if skip_if is not None and skip_if.exists():
            print(f"[skip] kinemic {' '.join(args[:3])} ... ({skip_if} exists)", flush=True)
            return None
        cmd = [kinemic_exe(), *args] + (["--json"] if json_out else [])
        print(f"[run ] {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        if self.threads:
            env["OMP_NUM_THREADS"] = str(self.threads)
        proc = subprocess.run(cmd, text=True, env=env, stdout=subprocess.PIPE if json_out else subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL if self.threads else None)
        seconds = time.perf_counter() - t0
        self.log.append({"command": cmd[1:], "seconds": round(seconds, 1), "returncode": proc.returncode})
        if proc.returncode != 0:
            raise SystemExit(f"step failed ({proc.returncode}): {' '.join(cmd[1:])}")
        out = next((args[i + 1] for i in range(len(args) - 1) if args[i] in ("--out", "--collection")), "")
        print(f"[done] {seconds:.0f}s  {' '.join(args[:2])} {out}".rstrip(), flush=True)
        return json.loads(proc.stdout) if json_out else None


def _store_has(store: Path, name: str) -> bool:
    from kinemic_cli.store import MotionStore

    return store.exists() and MotionStore(store).has(name)


def _options(pairs: list[str]) -> dict[str, list[str]]:
    """``name=--flag value ...`` items -> {name: [flags]}."""
    out = {}
    for pair in pairs or []:
        name, _, flags = pair.partition("=")
        out[name.strip()] = flags.split()
    return out


def _parallel(jobs: list, workers: int) -> None:
    """Run zero-argument callables, ``workers`` at a time (independent train-har runs)."""
    if workers <= 1:
        for job in jobs:
            job()
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("runs/uplift"), help="work folder (store, runs, table)")
    p.add_argument("--store", type=Path, default=None, help="motion store (default: <work>/kinemic.h5)")
    p.add_argument("--world-seed", type=int, default=0, help="prepare --world-seed: which demo world")
    p.add_argument("--prior", default="builtin:demo", help="prior folder, or builtin:demo (the shipped demo prior)")
    p.add_argument("--pretrain-steps", type=int, default=None, help="pretrain a prior for this many steps instead")
    p.add_argument("--pretrain-preset", default="small")
    p.add_argument("--shots", type=int, default=10)
    p.add_argument("--fewshot-seed", type=int, default=42, help="few-shot draw (--fewshot-seed of adapt and train-har)")
    p.add_argument("--seeds", default="1,2,3", help="training seeds of every recogniser")
    p.add_argument("--adapt-steps", type=int, default=None, help="adapt --max-steps (default: adapt's own)")
    p.add_argument("--per-class", type=int, default=50, help="generated clips per class")
    p.add_argument("--sampler", default="ddpm", help="generate --sampler")
    p.add_argument("--guidance", type=float, default=1.5, help="generate --guidance (its default for adapted models)")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--method-options", action="append", default=[],
                   help='adapt options of one method: kinemic="--lr 1e-3 --kinematic-gate 0.5" (repeatable)')
    p.add_argument("--ablation", action="append", default=[],
                   help='a kinemic variant and its adapt options, one plain mixed row each: paper="--no-pace-match --kinematic-rerank 0"')
    p.add_argument("--sampling-ablation", action="append", default=[],
                   help='NAME="--generate --options": the default KineMIC model sampled with these options '
                        '(adapted once; one plain mixed row each, named kinemic-NAME)')
    p.add_argument("--recipes", default="mixed", help=f"rows per generator: {', '.join(RECIPES)} (comma-separated)")
    p.add_argument("--recipe-methods", default=None,
                   help="generators that get the --recipes beyond plain mixed (default: all of --methods; "
                        "ablations by their generator name, kinemic-NAME, too)")
    p.add_argument("--synthetic-weight", type=float, default=0.5, help="train-har --synthetic-weight of 'weighted'")
    p.add_argument("--fewer-per-class", type=int, default=10, help="train-har --synthetic-per-class of 'fewer'")
    p.add_argument("--har-model", default="stgcn-small")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--precision", default="fp32", help="--precision of adapt, generate and train-har")
    p.add_argument("--parallel", type=int, default=1, help="independent runs at once (each with one thread)")
    p.add_argument("--no-gt", action="store_true", help="leave out the gt upper bound")
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
    worker = Runner(work, log, threads=1) if args.parallel > 1 else run
    common = ["--store", str(store)]
    precision = ["--precision", args.precision]
    seeds = [s for s in args.seeds.replace(",", " ").split()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    method_options = _options(args.method_options)
    ablations = _options(args.ablation)
    sampling = _options(args.sampling_ablation)
    if sampling and "kinemic" not in methods:
        raise SystemExit("--sampling-ablation samples the default KineMIC model: keep kinemic in --methods")
    recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    unknown = sorted(set(recipes) - set(RECIPES))
    if unknown:
        raise SystemExit(f"--recipes: unknown {unknown}; expected some of {', '.join(RECIPES)}")
    recipe_methods = methods if args.recipe_methods is None else [m.strip() for m in args.recipe_methods.split(",")]

    if not _store_has(store, "demo"):
        run("prepare", "--dataset", "demo", "--world-seed", str(args.world_seed), *common)
    if not _store_has(store, "demo-t2m"):
        run("prepare", "--dataset", "demo-t2m", *common)
    prior = args.prior
    if args.pretrain_steps:
        prior = str(work / "prior")
        run("pretrain", "--source", "demo-t2m", "--preset", args.pretrain_preset, "--max-steps", str(args.pretrain_steps),
            "--out", prior, "--device", args.device, *common, skip_if=work / "prior" / "config.json")

    generators = [(m, m, ["--method", m, *method_options.get(m, [])]) for m in methods]
    generators += [(f"kinemic-{name}", f"kinemic: {name}", ["--method", "kinemic", *flags])
                   for name, flags in ablations.items()]
    sampled = {f"kinemic-{name}": flags for name, flags in sampling.items()}  # generator name -> generate flags
    generators += [(name, f"kinemic: {name[len('kinemic-'):]}", []) for name in sampled]

    def generate(model: Path, name: str, extra: list[str]) -> None:
        """``demo-synth-<name>`` from an adapted model, unless the store has it already."""
        if not _store_has(store, f"demo-synth-{name}"):
            worker("generate", "--model", str(model), "--per-class", str(args.per_class), "--collection",
                   f"demo-synth-{name}", "--sampler", args.sampler, "--guidance", str(args.guidance), *extra,
                   "--device", args.device, *precision, *common)

    def make(name: str, flags: list[str]):
        def job():
            if name in sampled:  # the default KineMIC model, sampled with other options
                generate(work / "adapt-kinemic", name, sampled[name])
                return
            out = work / f"adapt-{name}"
            steps = ["--max-steps", str(args.adapt_steps)] if args.adapt_steps else []
            worker("adapt", "--dataset", "demo", "--source", "demo-t2m", "--prior", prior, *flags, "--shots",
                   str(args.shots), "--fewshot-seed", str(args.fewshot_seed), "--out", str(out), "--device",
                   args.device, *precision, *steps, *common,
                   skip_if=out / "adapted.json")  # the manifest is written last: its presence means a finished run
            generate(out, name, [])
        return job

    plain = [make(name, flags) for name, _, flags in generators if name not in sampled]
    _parallel(plain, args.parallel)  # the sampling ablations need the default model finished first
    _parallel([make(name, flags) for name, _, flags in generators if name in sampled], args.parallel)
    har = ["--dataset", "demo", "--shots", str(args.shots), "--fewshot-seed", str(args.fewshot_seed), "--seeds", *seeds,
           "--model", args.har_model, "--epochs", str(args.epochs), "--device", args.device, *precision, *common]
    rows: list[tuple[str, str, list[str]]] = []  # (folder name, label, flags)
    rows.append(("real", "real", ["--train", "real"]))
    rows.append(("augment", "augment", ["--train", "augment"]))
    for name, label, _ in generators:
        rows.append((f"mixed-{name}", f"mixed ({label})", ["--train", "mixed", "--synthetic", f"demo-synth-{name}"]))
    judged_jobs = []
    for recipe in recipes:
        if recipe == "mixed":
            continue
        prefix, label, flags, judged = RECIPES[recipe]
        for method in [name for name, _, _ in generators if name in recipe_methods]:
            synthetic = f"demo-synth-{method}" + ("-judged" if judged else "")
            if judged:
                judged_jobs.append(method)
            extra = {"weighted": ["--synthetic-weight", str(args.synthetic_weight)],
                     "fewer": ["--synthetic-per-class", str(args.fewer_per_class)]}.get(recipe, [])
            rows.append((f"{prefix.format(n=args.fewer_per_class)}-{method}" + ("-judged" if judged else ""),
                         label.format(m=method, w=args.synthetic_weight, n=args.fewer_per_class),
                         ["--train", "mixed", *flags, *extra, "--synthetic", synthetic]))
    if not args.no_gt:
        rows.append(("gt", "gt", ["--train", "gt"]))

    def har_job(folder_name: str, flags: list[str]):
        def job():
            folder = work / f"har-{folder_name}"
            worker("train-har", *flags, "--out", str(folder), *har, skip_if=folder / "results.json")
        return job

    first = [r for r in rows if r[0] == "augment"]  # the judge of the judged rows
    _parallel([har_job(n, f) for n, _, f in rows if (n, _, f) not in first] if not judged_jobs else
              [har_job(n, f) for n, _, f in first], args.parallel)
    for method in judged_jobs:
        if not _store_has(store, f"demo-synth-{method}-judged"):
            run("filter", f"demo-synth-{method}", "--judge", str(work / "har-augment"), "--out",
                f"demo-synth-{method}-judged", "--device", args.device, *common)
    _parallel([har_job(n, f) for n, _, f in rows], args.parallel)  # finished ones are skipped
    folders, labels = [str(work / f"har-{n}") for n, _, _ in rows], [label for _, label, _ in rows]
    if any("," in label for label in labels):  # evaluate --labels is comma-separated
        sys.exit(f"row labels may not hold a comma: {[label for label in labels if ',' in label]}")
    report = run("evaluate", *folders, "--evaluator", str(work / "evaluator"), "--dataset", "demo", "--labels",
                 ",".join(labels), "--title", f"uplift on the demo world (world seed {args.world_seed}, "
                 f"{args.shots} shots, seeds {' '.join(seeds)})",
                 "--out", str(work / "table"), "--evaluator-model", args.har_model, "--evaluator-epochs", str(args.epochs),
                 "--device", args.device, *common, json_out=True)
    acc = {row["label"]: row["summary"][report["headline"]]["accuracy"]["mean"] for row in report["rows"]}
    checks = {}
    k = acc.get("mixed (kinemic)")
    if k is not None:
        checks["kinemic_mixed_minus_real_points"] = 100 * (k - acc["real"])
        for other in ("finetune", "lora"):
            if f"mixed ({other})" in acc:
                checks[f"kinemic_mixed_minus_{other}_mixed_points"] = 100 * (k - acc[f"mixed ({other})"])
    for label, value in acc.items():
        if label.startswith("mixed +") and "kinemic" in label:
            checks[f"{label}: minus augment points"] = 100 * (value - acc["augment"])
        if label.startswith("mixed with") and "kinemic" in label:
            checks[f"{label}: minus real points"] = 100 * (value - acc["real"])
    if "gt" in acc:
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
