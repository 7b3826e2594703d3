"""The generation plan: per-clip seeds and lengths, shards, equal-length batches, resume."""

from __future__ import annotations

import numpy as np
import pytest

from kinemic_cli.errors import KinemicError
from kinemic_cli.generate.into_store import generate_into_store
from kinemic_cli.generate.plan import length_batches, parse_shard, plan_generation, shard_plan
from kinemic_cli.skeletons import SMPL22
from kinemic_cli.store.merge import merge_collections


def _plan(seed=0, counts=None):
    return plan_generation(counts=counts or {0: 7, 2: 5}, lengths_per_class={0: [20, 33, 41], 1: [33], 2: [25, 60]}, seed=seed)


def test_plan_is_a_function_of_seed_class_and_index():
    a, b = _plan(), _plan()
    assert a == b
    assert [p.sample_id for p in a] == sorted(p.sample_id for p in a)
    assert {p.length for p in a if p.label == 0} <= {20, 33, 41}
    # more clips of class 0 do not change the first ones, nor class 2's
    bigger = _plan(counts={0: 9, 2: 5})
    assert bigger[:7] == a[:7] and bigger[9:] == a[7:]
    assert _plan(seed=1) != a


def test_shards_partition_the_plan():
    plan = _plan()
    for n in (1, 2, 3, 5, 20):
        union = [p for i in range(n) for p in shard_plan(plan, i, n)]
        assert union == plan
    assert parse_shard("1/4") == (1, 4) and parse_shard(None) == (0, 1)
    for bad in ("4/4", "x", "1/0", "-1/2"):
        with pytest.raises(KinemicError):
            parse_shard(bad)


def test_batches_hold_one_length_each():
    plan = _plan()
    batches = list(length_batches(plan, 2))
    assert all(len({p.length for p in b}) == 1 and len(b) <= 2 for b in batches)
    assert sorted(p.sample_id for b in batches for p in b) == [p.sample_id for p in plan]


class SeededWalkSampler:
    """A stand-in model whose clip depends only on the clip's own seed (like the real sampler)."""

    skeleton, fps, class_names = SMPL22, 20.0, ["a", "b", "c"]

    def __init__(self, fail_after: int | None = None):
        self.calls, self.fail_after = 0, fail_after

    def sample(self, batch):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt
        return [np.cumsum(np.random.default_rng(p.seed).normal(size=(p.length, 22, 3)), 0).astype(np.float32)
                for p in batch]


def test_shards_merged_equal_the_unsharded_run_and_resume_completes(store):
    plan = _plan(counts={0: 30, 1: 11, 2: 20})
    whole = generate_into_store(SeededWalkSampler(), plan, store, "whole", batch_size=4, chunk=16)
    for i in range(3):
        generate_into_store(SeededWalkSampler(), shard_plan(plan, i, 3), store, f"s{i}", batch_size=7, chunk=5)
    merged = merge_collections(store, ["s2", "s0", "s1"], "merged")
    assert list(merged.sample_ids) == list(whole.sample_ids) == [p.sample_id for p in plan]
    for k in range(len(plan)):
        np.testing.assert_array_equal(merged.frames(k), whole.frames(k))
    # an interrupted run keeps its complete chunks and resumes to the same result
    with pytest.raises(KeyboardInterrupt):
        generate_into_store(SeededWalkSampler(fail_after=6), plan, store, "resumed", batch_size=4, chunk=16)
    assert "resumed" in store.incomplete() and "resumed" not in store.list()
    again = generate_into_store(SeededWalkSampler(), plan, store, "resumed", batch_size=3, chunk=16, resume=True)
    assert list(again.sample_ids) == list(whole.sample_ids)
    for k in range(len(plan)):
        np.testing.assert_array_equal(again.frames(k), whole.frames(k))
