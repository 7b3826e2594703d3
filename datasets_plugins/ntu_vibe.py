"""Adapter ``ntu-vibe``: NTU RGB+D clips in HumanML3D's layout, as the KineMIC authors release them.

The paper's targets (NTU-VIBE) are NTU clips whose SMPL bodies were re-estimated from the
videos and stored as HumanML3D does: ``new_joints/<name>.npy`` (``(T, 22, 3)``, or
flattened ``(T, 66)`` as in the release), ``new_joint_vecs/<name>.npy`` (263-d) and
``texts/<name>.txt`` (captions), with ``<name>`` the NTU file name ``SsssCcccPpppRrrrAaaa``.
The HumanML3D adapter would read them as an unlabelled corpus; this one reads what the names
say:

- label: the action ``A``; the classes are the actions present (or ``--classes``), named as
  NTU120 names them, with natural captions;
- subject / camera / setup / replication from the name, and the NTU120 protocols
  ``xsub`` (training subjects) and ``xset`` (even setups train);
- the release's own split files when present: ``splits/default/<protocol>/{train,val}.txt``
  replace the rules, and ``splits/fewshot/<S>/<protocol>/train.txt`` become the named
  splits ``fewshot/release-<S>/train`` (so the paper's exact shots can be used);
- ``outliers.txt`` (ids the release rules out) are excluded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from kinemic_cli.clip import Clip, SkippedItem
from kinemic_cli.errors import KinemicError
from kinemic_cli.plugins import DatasetAdapter, DatasetInfo, DatasetStream, PrepareRequest
from kinemic_cli.skeletons import SMPL22

from ._common import check_persons, refuse_skeleton_options, select_classes, unexpected
from .humanml3d import FPS, read_motion, read_split_list
from .ntu_release import NTU120, natural_captions, parse_ntu_name

__all__ = ["NtuVibeAdapter"]


def _release_splits(root: Path, warnings: list[str]) -> dict[str, set[str]]:
    """Named splits from the release's split files (``{}`` when it has none)."""
    out: dict[str, set[str]] = {}
    for protocol in ("xsub", "xset"):
        for side in ("train", "val"):
            path = root / "splits" / "default" / protocol / f"{side}.txt"
            if path.is_file():
                out[f"{protocol}/{side}"] = set(read_split_list(path, warnings))
    fewshot = root / "splits" / "fewshot"
    if fewshot.is_dir():
        for folder in sorted(p for p in fewshot.iterdir() if p.is_dir()):
            for protocol in ("xsub", "xset"):
                path = folder / protocol / "train.txt"
                if path.is_file():
                    out[f"fewshot/release-{folder.name}-{protocol}/train"] = set(read_split_list(path, warnings))
    return out


class NtuVibeAdapter(DatasetAdapter):
    """NTU-VIBE: NTU RGB+D clips as SMPL joints + HumanML3D vectors + captions, labelled by their names."""

    description = "NTU-VIBE (KineMIC release): NTU clips in HumanML3D's layout; labels and splits from NTU names"
    option_keys = ()

    def open(self, request: PrepareRequest) -> DatasetStream:
        self.check_request(request)
        refuse_skeleton_options(request, dataset="ntu-vibe", skeleton="smpl22")
        check_persons(request, dataset="ntu-vibe", default=1, maximum=1)
        root = Path(request.root)
        for sub in ("new_joints", "texts"):
            if not (root / sub).is_dir():
                raise KinemicError(f"{root}: no {sub}/ folder (is this an NTU-VIBE folder?)")
        warnings: list[str] = []
        excluded: Counter = Counter()
        early: list[SkippedItem] = []
        outliers = set(read_split_list(root / "outliers.txt", warnings)) if (root / "outliers.txt").is_file() else set()
        named = {}
        for path in sorted((root / "new_joints").glob("*.npy")):
            name = parse_ntu_name(path.stem)
            if name is None or not NTU120.contains(name):
                early.append(SkippedItem(str(path), "not an NTU name", "expected SsssCcccPpppRrrrAaaa.npy"))
            elif path.stem in outliers:
                excluded["release outliers list"] += 1
            else:
                named[path.stem] = name
        actions = sorted({n.action for n in named.values()})
        if not actions:
            raise KinemicError(f"{root}: no new_joints/*.npy with an NTU name")
        all_names = [NTU120.actions[a - 1] for a in actions]
        aliases = {f"A{a:03d}": k for k, a in enumerate(actions)}
        chosen = select_classes(all_names, request.classes, dataset="ntu-vibe", aliases=aliases)
        label_of = {actions[k]: i for i, k in enumerate(chosen)}
        release = _release_splits(root, warnings)
        protocols = sorted({s.split("/")[0] for s in release if not s.startswith("fewshot/")}) or ["xsub", "xset"]
        tasks = []
        for sid, n in named.items():
            if n.action not in label_of:
                excluded["not in --classes"] += 1
                continue
            if release:
                splits = tuple(s for s, members in sorted(release.items()) if sid in members)
            else:
                splits = tuple(s for s in NTU120.splits(n) if s.split("/")[0] in protocols)
            fields = {"label": label_of[n.action], "subject": n.subject, "camera": n.camera, "setup": n.setup,
                      "replication": n.replication}
            tasks.append((sid, splits, fields))
        if request.limit is not None:
            tasks = tasks[: max(0, int(request.limit))]
        names = [all_names[k] for k in chosen]
        captions = natural_captions()
        info = DatasetInfo(
            skeleton=SMPL22, fps=FPS, class_names=names, kind="har", persons=1,
            attrs={"protocols": protocols, "release": "NTU-VIBE (KineMIC)", "features": "hml263",
                   "actions": [actions[k] for k in chosen], "class_captions": {n: [captions[n]] for n in names},
                   "splits_from": "release split files" if release else "NTU120 rules (xsub subjects, xset setups)"},
        )
        return DatasetStream(info=info, total=len(early) + len(tasks), items=self._items(root, early, tasks, warnings),
                             inputs=[str(root)], excluded={k: v for k, v in excluded.items() if v}, warnings=warnings)

    @staticmethod
    def _items(root: Path, early: list[SkippedItem], tasks: list, warnings: list[str]) -> Iterator[Clip | SkippedItem]:
        yield from early
        for sid, splits, fields in tasks:
            try:
                yield read_motion(root, sid, splits, warnings, fields=fields)
            except Exception as exc:  # noqa: BLE001 - a reader bug costs this clip, not the run
                yield unexpected(str(root / "new_joints" / f"{sid}.npy"), exc)
