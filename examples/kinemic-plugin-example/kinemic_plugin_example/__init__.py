"""A third-party kinemic dataset adapter: CSV motion capture, one folder per class.

It imports only kinemic's plugin API, as every adapter should.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kinemic_cli.plugins import Clip, DatasetAdapter, DatasetInfo, DatasetStream, PrepareRequest, SkippedItem
from kinemic_cli.skeletons import get_skeleton


class CsvMocapAdapter(DatasetAdapter):
    description = "CSV motion capture (smpl22 joints), one sub-folder per action class (example plugin)"
    needs_root = True
    option_keys = ("fps", "val_every")

    def open(self, request: PrepareRequest) -> DatasetStream:
        root = Path(request.root)
        skeleton = get_skeleton("smpl22")
        classes = sorted(p.name for p in root.iterdir() if p.is_dir())
        if request.classes:
            classes = [c for c in classes if c in request.classes]
        files = [(label, f) for label, name in enumerate(classes) for f in sorted((root / name).glob("*.csv"))]
        if request.limit is not None:
            files = files[: request.limit]
        val_every = int(request.options.get("val_every", 5))
        info = DatasetInfo(skeleton=skeleton, fps=float(request.options.get("fps", 20)), class_names=classes,
                           kind="har", persons=1, attrs={"protocols": ["default"]})

        def items():
            for k, (label, path) in enumerate(files):
                try:
                    data = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)
                except ValueError as exc:
                    # numpy's own advice ("use `usecols` to select a subset") is for programmers
                    detail = str(exc).splitlines()[0].split("; use `usecols`")[0]
                    yield SkippedItem(str(path), "not a CSV of numbers", detail)
                    continue
                if data.size == 0:
                    yield SkippedItem(str(path), "empty")
                    continue
                if data.shape[1] != skeleton.num_joints * 3:
                    yield SkippedItem(str(path), "wrong joint count", f"{data.shape[1]} values per line")
                    continue
                split = "default/val" if k % val_every == val_every - 1 else "default/train"
                yield Clip(frames=data.reshape(len(data), skeleton.num_joints, 3), sample_id=f"{classes[label]}/{path.stem}",
                           label=label, splits=(split,))

        return DatasetStream(info=info, total=len(files), items=items(), inputs=[str(root)])
