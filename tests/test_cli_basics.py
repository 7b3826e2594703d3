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
    run_kinemic("prepare", "--dataset", "demo", "--store", store, "--limit", "40", "--shots", "2", "--fewshot-seed", "3")
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


def test_typos_are_one_line_usage_errors_with_the_suggestion():
    for args, suggestion in ((["prepare", "--shot", "3"], "--shots"), (["prepare", "--datset", "demo"], "--dataset"),
                             (["generat"], "'generate'")):
        proc = run_kinemic(*args, check=False)
        assert proc.returncode == 2, args
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: No such") and suggestion in lines[0], lines
        assert proc.stdout == ""
    proc = run_kinemic("adapt", "--dataset", "demo", "--shots", "0", check=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "--shots" in proc.stderr


def test_json_errors_are_one_object_on_stdout(tmp_path):
    proc = run_kinemic("prepare", "--dataset", "no-such-world", "--store", str(tmp_path / "s.h5"), "--json", check=False)
    assert proc.returncode == 1
    assert json.loads(proc.stdout) == {"error": proc.stderr.strip().removeprefix("Error: "), "code": 1}
    proc = run_kinemic("prepare", "--datset", "demo", "--json", check=False)
    out = json.loads(proc.stdout)
    assert proc.returncode == 2 and out["code"] == 2 and "--datset" in out["error"]


def test_debug_is_accepted_after_the_subcommand_too(tmp_path):
    for args in (["--debug", "prepare"], ["prepare", "--debug"]):
        proc = run_kinemic(*args, "--dataset", "no-such-world", "--store", str(tmp_path / "s.h5"), check=False)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" in proc.stderr and proc.stderr.strip().splitlines()[-1].startswith("Error: unknown dataset")


def test_config_values_are_typed_options_and_flags_win(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dataset: demo\nshots: 0\n")  # checked like a typed flag: --shots must be >= 1
    proc = run_kinemic("adapt", "--config", str(cfg), check=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "--shots" in proc.stderr
    cfg.write_text("dataset: demo\nshots: 2\nfewshot-seed: 5\nlimit: 30\n")
    store = str(tmp_path / "s.h5")
    out = json.loads(run_kinemic("prepare", "--config", str(cfg), "--fewshot-seed", "6", "--store", store,
                                 "--json").stdout)
    assert out["fewshot_split"]["name"] == "fewshot/k2-s6/train"  # the flag beats the file


def test_config_key_error_names_options_not_parameters(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dataset: demo\nbogus: 1\n")
    proc = run_kinemic("prepare", "--config", str(cfg), "--store", str(tmp_path / "s.h5"), check=False)
    assert proc.returncode == 1 and "unknown config key 'bogus'" in proc.stderr
    known = [k.strip() for k in proc.stderr.split("known:")[1].split(",")]
    assert "list" in known and "list_" not in known and "list-" not in known  # the option, not the parameter
    assert "limit" in known and all("_" not in k for k in known)  # option spellings (--max-frames, not max_frames)


def test_prepare_summary_counts_the_classes_store_ls_counts(tmp_path):
    store = str(tmp_path / "s.h5")
    out = run_kinemic("prepare", "--dataset", "demo-t2m", "--limit", "20", "--store", store).stdout
    ls = json.loads(run_kinemic("store", "ls", "--store", store, "--json").stdout)
    classes = ls["collections"][0]["num_classes"]
    assert classes > 0
    rows = {cells[0]: cells[1] for cells in (
        [c.strip() for c in line.strip("│ ").split("│")] for line in out.splitlines() if line.startswith("│"))}
    assert rows["classes"] == str(classes) and rows["classes with labelled clips"] == "0"
    out = run_kinemic("prepare", "--dataset", "demo", "--limit", "28", "--store", store).stdout
    assert "│ clips per class  │ 2 each │" in out  # equal extremes are one count, not "2 (wave) .. 2 (wave)"


def test_per_class_picks_every_class_and_titles_wrap():
    from kinemic_cli.motion.render import pick_clip_indices, wrap_title

    labels = np.repeat(np.arange(14), 3)
    chosen = pick_clip_indices(labels, per_class=1)
    assert sorted(labels[chosen].tolist()) == list(range(14))  # no silent cap at 12 panels
    assert len(pick_clip_indices(labels, per_class=1, limit=5)) == 5  # an explicit --limit still caps
    lines = wrap_title("a person waves with the right hand above the head", 220)
    assert len(lines) > 1 and all(len(line) <= (220 - 8) // 6 for line in lines)
    assert wrap_title("word " * 40, 120)[-1].endswith("...") and len(wrap_title("word " * 40, 120)) == 3
    assert " ".join(lines) == "a person waves with the right hand above the head"


def test_openmp_waits_passively_beside_busy_work_and_the_user_wins():
    from kinemic_cli.runtime.threads import configure_cpu_threads

    env = {}
    assert configure_cpu_threads(env, busy=1.0) == {"OMP_WAIT_POLICY": "PASSIVE"} and env["OMP_WAIT_POLICY"] == "PASSIVE"
    env = {}
    assert configure_cpu_threads(env, busy=0.1) == {} and env == {}  # idle: OpenMP's fast spinning default
    env = {"OMP_WAIT_POLICY": "ACTIVE"}
    assert configure_cpu_threads(env, busy=2.0) == {} and env == {"OMP_WAIT_POLICY": "ACTIVE"}
