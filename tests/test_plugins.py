"""Dataset plugins are found through entry points, including a pip-installed third-party one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_kinemic

from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import PrepareRequest, load_adapter
from kinemic_cli.store import MotionStore

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "kinemic-plugin-example"


def test_builtin_adapters_come_from_the_entry_point_group():
    listed = json.loads(run_kinemic("prepare", "--list", "--json").stdout)["datasets"]
    names = {d["name"]: d for d in listed}
    assert {"demo", "demo-t2m"} <= set(names)
    assert names["demo"]["distribution"] == "kinemic" and names["demo"]["error"] is None


def test_unknown_dataset_lists_the_installed_ones():
    proc = run_kinemic("prepare", "--dataset", "nope", "--store", "/tmp/unused-kinemic.h5", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: unknown dataset 'nope'; installed:") and "demo" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    with pytest.raises(KinemicError, match="unknown dataset"):
        load_adapter("nope")


def test_unknown_adapter_option_is_refused_before_work():
    adapter = load_adapter("demo")
    with pytest.raises(KinemicError, match="does not accept option"):
        adapter.check_request(PrepareRequest(options={"colour": "red"}))


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args, "-q", "--disable-pip-version-check"], check=True,
                   capture_output=True, text=True)


def test_third_party_plugin_install_list_prepare_uninstall(tmp_path):
    root = tmp_path / "mocap"
    rng = np.random.default_rng(0)
    for cls in ("wave", "kick"):
        (root / cls).mkdir(parents=True)
        for k in range(5):
            np.savetxt(root / cls / f"clip{k}.csv", rng.normal(size=(12, 66)), delimiter=",")
    (root / "kick" / "broken.csv").write_text("1,2,3\n4,5,6\n")
    _pip("install", "--no-deps", "--no-build-isolation", str(EXAMPLE))
    try:
        listed = json.loads(run_kinemic("prepare", "--list", "--json").stdout)["datasets"]
        entry = next(d for d in listed if d["name"] == "csv-mocap")
        assert entry["distribution"] == "kinemic-plugin-example"
        store_path = tmp_path / "k.h5"
        out = json.loads(run_kinemic("prepare", "--dataset", "csv-mocap", "--root", str(root), "--store",
                                     str(store_path), "--json").stdout)
        assert out["clips"] == 10 and out["skipped_by_reason"] == {"wrong joint count": 1}
        with MotionStore(store_path).collection("csv-mocap") as coll:
            assert coll.class_names == ["kick", "wave"] and len(coll) == 10
            np.testing.assert_allclose(coll.frames(0)[:, 0].reshape(12, 66),
                                       np.loadtxt(root / "kick" / "clip0.csv", delimiter=","), rtol=1e-6)
    finally:
        _pip("uninstall", "-y", "kinemic-plugin-example")
    listed = json.loads(run_kinemic("prepare", "--list", "--json").stdout)["datasets"]
    assert "csv-mocap" not in {d["name"] for d in listed}
