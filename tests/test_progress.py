"""Progress bars: steps, s/step and ETA stay readable in an 80-column terminal."""

from __future__ import annotations

import io
import re

from rich.console import Console

from kinemic_cli.runtime import progress


def test_an_80_column_bar_keeps_steps_speed_and_eta():
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True, color_system=None)
    clock = [0.0]
    bar = progress._progress(console, get_time=lambda: clock[0])
    with bar:
        task = bar.add_task("adapt (kinemic)", total=10000, completed=0, info="")
        for _ in range(3):
            clock[0] += 1.25  # 1.25 s per step
            bar.update(task, advance=1, info="total 20.5883 rec 4.6700 con 1.0963 win 14.8219")
        bar.refresh()
    plain = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.getvalue())
    line = [text for text in plain.replace("\r", "\n").splitlines() if "3/10000" in text][-1]
    assert len(line.rstrip()) <= 80
    assert "3/10000" in line and "1.25 s/step" in line and "eta 3:" in line  # 9,997 steps x 1.25 s ~ 3.5 h


def test_bars_are_off_under_json():
    with progress.progress_enabled(False), progress.progress_task("x", 3) as task:
        task.advance(1, info="y")  # no bar, no output, no error
