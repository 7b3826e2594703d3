"""CLI contracts: one-line errors, --json, --config precedence, nothing touched on bad input."""

from __future__ import annotations

import json

import h5py
import numpy as np

from conftest import run_kinemic


def test_help_lists_every_stage():
    out = run_kinemic("--help").stdout
    for name in ("prepare", "store", "render", "split"):
        assert name in out


def test_not_a_store_is_refused_and_left_unchanged(tmp_path):
    foreign = tmp_path / "data.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(4)
    before = foreign.read_bytes()
    proc = run_kinemic("prepare", "--dataset", "demo", "--store", str(foreign), check=False)
    assert proc.returncode == 1 and "not a kinemic store" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert foreign.read_bytes() == before
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    proc = run_kinemic("store", "ls", "--store", str(corrupt), check=False)
    assert proc.returncode == 1 and "not a readable HDF5 file" in proc.stderr


def test_missing_config_file_is_one_line(tmp_path):
    proc = run_kinemic("prepare", "--dataset", "demo", "--store", str(tmp_path / "s.h5"), "--config",
                       str(tmp_path / "missing.yaml"), check=False)
    assert proc.returncode == 1 and "config file not found" in proc.stderr


def test_config_unknown_key_and_flag_precedence(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dataset: demo\ncolection: typo\n")
    proc = run_kinemic("prepare", "--config", str(cfg), "--store", str(tmp_path / "s.h5"), check=False)
    assert proc.returncode == 1 and "unknown config key 'colection'" in proc.stderr
    assert not (tmp_path / "s.h5").exists()
    cfg.write_text("dataset: demo\ncollection: from-config\nlimit: 30\n")
    out = json.loads(run_kinemic("prepare", "--config", str(cfg), "--collection", "from-flag", "--store",
                                 str(tmp_path / "s.h5"), "--json").stdout)
    assert out["collection"] == "from-flag" and out["clips"] == 30


def test_store_ls_info_rm_json(tmp_path):
    store = str(tmp_path / "s.h5")
    run_kinemic("prepare", "--dataset", "demo", "--store", store, "--limit", "40", "--shots", "2", "--seed", "3")
    ls = json.loads(run_kinemic("store", "ls", "--store", store, "--json").stdout)
    assert [c["name"] for c in ls["collections"]] == ["demo"]
    info = json.loads(run_kinemic("store", "info", "demo", "--store", store, "--json").stdout)
    assert info["num_clips"] == 40 and "fewshot/k2-s3/train" in info["split_sizes"]
    assert info["provenance"]["command"] == "prepare" and info["provenance"]["config"]["limit"] == 40
    run_kinemic("store", "rm", "demo", "--store", store)
    assert json.loads(run_kinemic("store", "ls", "--store", store, "--json").stdout)["collections"] == []


def test_render_gif_and_png(tmp_path):
    store = str(tmp_path / "s.h5")
    run_kinemic("prepare", "--dataset", "demo", "--store", store, "--limit", "20")
    out = json.loads(run_kinemic("render", "--collection", "demo", "--store", store, "--index", "0", "--index", "3",
                                 "--out", str(tmp_path / "a.gif"), "--json").stdout)
    assert out["clips"] == [0, 3] and (tmp_path / "a.gif").stat().st_size > 1000
    run_kinemic("render", "--collection", "demo", "--store", store, "--limit", "2", "--out", str(tmp_path / "a.png"))
    from PIL import Image

    with Image.open(tmp_path / "a.png") as im:
        assert im.size[1] == 2 * 160
