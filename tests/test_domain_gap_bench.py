"""`bench/domain_gap.py` runs on a real store, for a prior and for an adapted model, and prints its table."""

import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _table(*args: str) -> dict[str, list[float]]:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "domain_gap.py"), *args, "--t", "1,20",
                           "--windows", "4", "--per-class", "2"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {}
    for line in proc.stdout.splitlines():
        name, _, rest = line.partition("  ")
        values = rest.split()
        if len(values) == 2 and all(v.replace(".", "", 1).isdigit() for v in values):
            rows[name.strip()] = [float(v) for v in values]
    return rows


def test_prior_rows_cover_source_variations_and_target(pipeline):
    rows = _table("--prior", str(pipeline["prior"]), "--store", pipeline["store"])
    assert set(rows) == {"source", "source + tilt", "source + shear", "source + scale", "target (class caption)"}
    assert all(math.isfinite(v) and v > 0 for values in rows.values() for v in values)


def test_student_rows_are_its_test_clips_and_its_shots(pipeline):
    rows = _table("--model", str(pipeline["adapted"]), "--store", pipeline["store"])
    assert set(rows) == {"target (test clips)", "target (the shots)"}
    assert all(math.isfinite(v) and v > 0 for values in rows.values() for v in values)


def test_by_class_needs_an_evaluator():
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "domain_gap.py"), "--store", "x.h5", "--by-class"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2 and "--by-class needs --evaluator" in proc.stderr
