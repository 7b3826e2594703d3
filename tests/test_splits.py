"""Few-shot splits: training side only, reproducible, stable per class."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_clips, write_collection

from kinemic_cli.errors import KinemicError
from kinemic_cli.store.splits import draw_fewshot, fewshot_split_name, make_fewshot_split


def test_draw_is_reproducible_and_from_candidates_only():
    labels = np.repeat(np.arange(5), 40)
    candidates = np.arange(0, 200, 2)  # the "training side"
    a = draw_fewshot(labels, candidates, shots=10, seed=42)
    b = draw_fewshot(labels, candidates, shots=10, seed=42)
    np.testing.assert_array_equal(a, b)
    assert set(a) <= set(candidates)
    assert np.all(np.bincount(labels[a]) == 10)
    assert not np.array_equal(a, draw_fewshot(labels, candidates, shots=10, seed=43))


def test_shots_of_a_class_do_not_depend_on_other_classes():
    labels = np.repeat(np.arange(5), 40)
    cand = np.arange(200)
    all_classes = draw_fewshot(labels, cand, shots=3, seed=1)
    only_two = draw_fewshot(labels, cand, shots=3, seed=1, classes=[2, 4])
    np.testing.assert_array_equal(only_two, all_classes[np.isin(labels[all_classes], [2, 4])])


def test_class_without_training_clips_is_an_error():
    labels = np.array([0, 0, 1])
    with pytest.raises(KinemicError, match="class 1 has no clip"):
        draw_fewshot(labels, np.array([0, 1]), shots=1, seed=0, classes=[0, 1])


def test_split_is_stored_beside_the_collection(store):
    write_collection(store, "c", make_clips(60))
    name, idx = make_fewshot_split(store, "c", shots=2, seed=7)
    assert name == fewshot_split_name(2, 7) == "fewshot/k2-s7/train"
    with store.collection("c") as coll:
        train = set(coll.split("xsub/train"))
        assert set(idx) <= train and set(coll.split(name)) == set(idx)
    again = make_fewshot_split(store, "c", shots=2, seed=7)[1]
    np.testing.assert_array_equal(again, idx)
