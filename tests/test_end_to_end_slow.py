"""The long end-to-end runs (``python -m pytest -m slow``): the quickstart script and the uplift bench.

The default suite covers each stage with short real runs (see ``test_adapt``, ``test_generate``,
``test_har``, ``test_evaluate``); these two chain every stage through the real executable on the
full demo world, which takes several minutes on a 2-core CPU.  CI runs the quickstart anyway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict:
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "KINEMIC_QUICKSTART_DIR": str(tmp_path / "quickstart")}


def test_quickstart_runs_every_stage(tmp_path):
    proc = subprocess.run(["bash", str(REPO / "examples" / "quickstart.sh")], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / "quickstart"
    for name in ("adapt-kinemic/adapted.json", "har-real/results.json", "har-mixed/results.json",
                 "report/report.md", "generated.gif", "prompt_wave.gif"):
        assert (out / name).is_file(), name
    report = (out / "report" / "report.md").read_text()
    assert "real" in report and "mixed" in report


def test_uplift_quick_writes_the_table_and_the_checks(tmp_path):
    work = tmp_path / "uplift"
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "uplift.py"), "--work", str(work), "--quick",
                           "--recipes", "mixed,augment,weighted,judged,fewer", "--recipe-methods", "kinemic",
                           "--ablation", "paper=--no-pace-match --kinematic-rerank 0", "--parallel", "2"],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((work / "uplift.json").read_text())
    assert set(result["accuracy"]) == {"real", "augment", "mixed (finetune)", "mixed (lora)", "mixed (kinemic)", "gt",
                                       "mixed (kinemic: paper)", "mixed + augment (kinemic)",
                                       "mixed + augment + synthetic weight 0.5 (kinemic)",
                                       "mixed + augment + judged (kinemic)", "mixed with 10 synthetic per class (kinemic)"}
    assert all(0.0 <= acc <= 1.0 for acc in result["accuracy"].values())
    assert "kinemic_mixed_minus_real_points" in result["checks"]
    assert "mixed + augment + judged (kinemic): minus augment points" in result["checks"]
    assert "mixed with 10 synthetic per class (kinemic): minus real points" in result["checks"]
    assert all(step["returncode"] == 0 for step in result["steps"])
