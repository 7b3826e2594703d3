"""``kinemic filter``: keep the synthetic clips a few-shot recogniser agrees with."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import DeviceOpt, JsonOpt, StoreOpt, command, emit, open_store


@command
def filter_synthetic(
    synthetic: Annotated[str, typer.Argument(help="Synthetic collection to filter (e.g. the output of generate).")],
    judge: Annotated[Path, typer.Option("--judge", help="train-har run folder trained on the real shots (e.g. --train augment; its seeds' models are averaged) or one saved model (RUN/seed1/last).")],
    out: Annotated[str, typer.Option("--out", help="Name of the new collection with the kept clips.")],
    min_confidence: Annotated[float, typer.Option("--min-confidence", help="Also require the judge's probability of the clip's label to reach this.")] = 0.0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing collection named --out.")] = False,
    store: StoreOpt = None,
    device: DeviceOpt = "cpu",
    json_output: JsonOpt = False,
) -> None:
    """Drop generated clips whose class a recogniser of the real shots does not recognise (no test clip is read)."""
    from ..generate.filter import filter_synthetic as run_filter
    from ..generate.filter import load_judge

    st = open_store(store)
    report = run_filter(st, synthetic, load_judge(judge, device=device), out, min_confidence=min_confidence,
                        overwrite=overwrite)

    def human(console) -> None:
        table = Table(title=f"{synthetic} -> {out}: kept {report['kept']} of {report['clips']} clips")
        table.add_column("class")
        table.add_column("kept", justify="right")
        for name, row in report["per_class"].items():
            table.add_row(name, f"{row['kept']} / {row['clips']}")
        console.print(table)

    emit(report, json_output, human)
