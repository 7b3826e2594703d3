"""Rich progress bars that the CLI can switch off (``--json``) without library code knowing.

Library loops call :func:`track` or :func:`progress_task`; whether a bar is drawn (on
stderr, with ETA) is decided by the caller through :func:`progress_enabled`, a context
variable rather than a module global so that threads and tests do not leak the setting.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Column
from rich.text import Text

__all__ = ["progress_enabled", "track", "progress_task", "ProgressTask"]

T = TypeVar("T")
_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("kinemic_progress", default=True)
_stderr = Console(stderr=True)


@contextmanager
def progress_enabled(enabled: bool) -> Iterator[None]:
    token = _ENABLED.set(enabled)
    try:
        yield
    finally:
        _ENABLED.reset(token)


class SecondsPerStepColumn(ProgressColumn):
    """``1.23 s/step`` (or ``45 ms/step``) from rich's running speed estimate."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("- s/step", style="progress.data.speed")
        seconds = 1.0 / speed
        return Text(f"{seconds * 1000:.0f} ms/step" if seconds < 1 else f"{seconds:.2f} s/step",
                    style="progress.data.speed")


def _progress(console: Console | None = None, get_time=None) -> Progress:
    """Steps, s/step and ETA first and never cut; the description and loss terms give way on narrow terminals."""
    console = console or _stderr
    return Progress(
        TextColumn("[bold]{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", max_width=20)),
        BarColumn(bar_width=12),
        MofNCompleteColumn(table_column=Column(no_wrap=True)),
        SecondsPerStepColumn(table_column=Column(no_wrap=True)),
        TextColumn("eta", table_column=Column(no_wrap=True)),
        TimeRemainingColumn(table_column=Column(no_wrap=True)),
        # what is left of the line (~20 characters at 80 columns) for the loss terms
        TextColumn("{task.fields[info]}", table_column=Column(no_wrap=True, overflow="ellipsis",
                                                               max_width=max(8, console.width - 62))),
        console=console,
        get_time=get_time,
        transient=False,
        disable=not _ENABLED.get(),
    )


class ProgressTask:
    """A handle to advance a bar and show a short status (e.g. current loss terms)."""

    def __init__(self, progress: Progress | None, task_id):
        self._progress, self._task = progress, task_id

    def advance(self, n: int = 1, info: str | None = None) -> None:
        if self._progress is not None:
            kwargs = {"info": info} if info is not None else {}
            self._progress.update(self._task, advance=n, **kwargs)

    def set_total(self, total: int | None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)


@contextmanager
def progress_task(description: str, total: int | None, *, completed: int = 0) -> Iterator[ProgressTask]:
    if not _ENABLED.get():
        yield ProgressTask(None, None)
        return
    with _progress() as progress:
        task_id = progress.add_task(description, total=total, completed=completed, info="")
        yield ProgressTask(progress, task_id)


def track(iterable: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with progress_task(description, total) as task:
        for item in iterable:
            yield item
            task.advance()
