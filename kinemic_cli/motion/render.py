"""Stick-figure rendering of clips: animated GIF grids and PNG contact sheets.

Drawing uses Pillow directly (no matplotlib figure per frame) so that rendering a grid of
a dozen clips takes well under a second per clip on a CPU.  3D skeletons (Y up) are
shown from a camera turned by ``yaw`` degrees about Y; 2D skeletons (image coordinates,
y down) are drawn as they are.  The subject's left side is blue, the right side red.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..errors import KinemicError
from ..skeletons import Skeleton

__all__ = ["render_clips_gif", "render_clips_png", "render_clips", "project_for_drawing"]

_LEFT, _RIGHT, _MID = (40, 110, 220), (220, 60, 50), (60, 60, 60)


def _side(name: str) -> str:
    low = name.lower()
    if low.startswith("left") or "left" in low or (len(name) > 1 and name[0] == "L" and name[1].isupper()):
        return "left"
    if low.startswith("right") or "right" in low or (len(name) > 1 and name[0] == "R" and name[1].isupper()):
        return "right"
    return "mid"


def _as_persons(clip: np.ndarray) -> np.ndarray:
    clip = np.asarray(clip, dtype=np.float64)
    if clip.ndim == 3:
        clip = clip[:, None]
    if clip.ndim != 4:
        raise KinemicError(f"render expects clips of shape [T, J, C] or [T, M, J, C], got {clip.shape}")
    return clip


def project_for_drawing(clip: np.ndarray, skeleton: Skeleton, *, yaw: float = 30.0) -> np.ndarray:
    """``[T, M, J, C]`` -> ``[T, M, J, 2]`` screen coordinates (x right, y down), unscaled."""
    clip = _as_persons(clip)
    if skeleton.is_2d:
        return clip[..., :2]
    a = np.deg2rad(yaw)
    x = clip[..., 0] * np.cos(a) + clip[..., 2] * np.sin(a)
    y = -clip[..., 1]
    return np.stack([x, y], axis=-1)


def _present(clip: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Mask ``[T, M, J]`` of joints worth drawing (padding persons / zero-score joints are not)."""
    clip = _as_persons(clip)
    alive = np.abs(clip[..., :3] if not skeleton.is_2d else clip[..., :2]).sum(-1) > 0
    if skeleton.is_2d and clip.shape[-1] > 2:
        alive &= clip[..., 2] > 0
    return alive


def _frames_for(clips: Sequence[np.ndarray], skeleton: Skeleton, *, size: int, yaw: float, titles,
                columns: int | None, frame_indices: list[list[int]] | None = None) -> list[Image.Image]:
    n = len(clips)
    if n == 0:
        raise KinemicError("nothing to render: no clips given")
    cols = columns or min(n, 4)
    rows = (n + cols - 1) // cols
    projected = [project_for_drawing(c, skeleton, yaw=yaw) for c in clips]
    present = [_present(c, skeleton) for c in clips]
    sides = [_side(name) for name in skeleton.joint_names]
    colours = [_LEFT if s == "left" else _RIGHT if s == "right" else _MID for s in sides]
    length = max(len(p) for p in projected) if frame_indices is None else len(frame_indices[0])
    boxes = []
    for p, m in zip(projected, present):
        pts = p[m] if m.any() else np.zeros((1, 2))
        lo, hi = pts.min(0), pts.max(0)
        boxes.append((lo, hi))
    images = []
    for f in range(length):
        img = Image.new("RGB", (cols * size, rows * size), (250, 250, 250))
        draw = ImageDraw.Draw(img)
        for k, (p, m) in enumerate(zip(projected, present)):
            r, c = divmod(k, cols)
            ox, oy = c * size, r * size
            lo, hi = boxes[k]
            scale = 0.8 * size / max(float((hi - lo).max()), 1e-6)
            centre = (lo + hi) / 2
            t = frame_indices[k][f] if frame_indices is not None else min(f, len(p) - 1)
            for person in range(p.shape[1]):
                pts = (p[t, person] - centre) * scale + np.array([ox + size / 2, oy + size / 2 + 6])
                for j, parent in skeleton.bones:
                    if m[t, person, j] and m[t, person, parent]:
                        draw.line([tuple(pts[j]), tuple(pts[parent])], fill=colours[j], width=max(2, size // 80))
                for j in range(skeleton.num_joints):
                    if m[t, person, j]:
                        x, y = pts[j]
                        draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=_MID)
            label = titles[k] if titles else None
            lines = wrap_title(label, size) if label else []
            draw.multiline_text((ox + 4, oy + 2), "\n".join([*lines, f"{t + 1}/{len(p)}"]), fill=(0, 0, 0),
                                spacing=1)
            draw.rectangle([ox, oy, ox + size - 1, oy + size - 1], outline=(200, 200, 200))
        images.append(img)
    return images


def wrap_title(title: str, size: int, *, max_lines: int = 3) -> list[str]:
    """A panel's title in lines that fit its width (PIL's default font is about 6 px a character).

    Long prompts are wrapped, not cut mid-word; past ``max_lines`` the last line ends in "...".
    """
    import textwrap

    width = max(8, (size - 8) // 6)
    lines = textwrap.wrap(str(title), width=width) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 3].rstrip() + "..."
    return lines


def render_clips_gif(clips: Sequence[np.ndarray], skeleton: Skeleton, path: str | Path, *,
                     titles: Sequence[str] | None = None, fps: float | None = None, size: int = 220,
                     yaw: float = 30.0, columns: int | None = None) -> Path:
    """Animate clips side by side in one GIF (shorter clips hold their last frame)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = _frames_for(clips, skeleton, size=size, yaw=yaw, titles=titles, columns=columns)
    duration = int(round(1000.0 / (fps or skeleton.fps)))
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration, loop=0)
    return path


def render_clips_png(clips: Sequence[np.ndarray], skeleton: Skeleton, path: str | Path, *,
                     titles: Sequence[str] | None = None, frames_per_clip: int = 8, size: int = 160,
                     yaw: float = 30.0) -> Path:
    """A contact sheet: one row per clip, ``frames_per_clip`` evenly spaced frames across."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, clip in enumerate(clips):
        length = len(_as_persons(clip))
        idx = np.linspace(0, length - 1, frames_per_clip).round().astype(int).tolist()
        per_frame = [
            _frames_for([clip], skeleton, size=size, yaw=yaw, titles=[titles[k]] if titles else None, columns=1,
                        frame_indices=[[t]])[0]
            for t in idx
        ]
        row = Image.new("RGB", (size * frames_per_clip, size), (255, 255, 255))
        for i, im in enumerate(per_frame):
            row.paste(im, (i * size, 0))
        rows.append(row)
    sheet = Image.new("RGB", (size * frames_per_clip, size * len(rows)), (255, 255, 255))
    for r, row in enumerate(rows):
        sheet.paste(row, (0, r * size))
    sheet.save(path)
    return path


def render_clips(clips: Sequence[np.ndarray], skeleton: Skeleton, path: str | Path, **kwargs) -> Path:
    """Pick the format from the suffix: ``.gif`` animation, ``.png`` contact sheet, ``.mp4`` video."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        return render_clips_gif(clips, skeleton, path, **kwargs)
    if suffix == ".png":
        kwargs.pop("fps", None)
        kwargs.pop("columns", None)
        return render_clips_png(clips, skeleton, path, **kwargs)
    if suffix == ".mp4":
        try:
            import imageio.v2 as imageio
        except ImportError:
            raise KinemicError(f"{path}: MP4 output needs the video extra (pip install 'kinemic[video]')") from None
        fps = kwargs.pop("fps", None) or skeleton.fps
        frames = _frames_for(clips, skeleton, size=kwargs.get("size", 220), yaw=kwargs.get("yaw", 30.0),
                             titles=kwargs.get("titles"), columns=kwargs.get("columns"))
        path.parent.mkdir(parents=True, exist_ok=True)
        imageio.mimsave(path, [np.asarray(f) for f in frames], fps=fps)
        return path
    raise KinemicError(f"{path}: unsupported output format {suffix!r} (use .gif, .png or .mp4)")


def pick_clip_indices(labels: np.ndarray, *, indices: Sequence[int] | None = None, pool: np.ndarray | None = None,
                      per_class: int | None = None, limit: int | None = None) -> list[int]:
    """Which clips to draw: explicit ``indices``, else ``per_class`` of each class from ``pool``, else the first.

    ``limit`` caps the count; unset it is every class's ``per_class`` clips, or 12 without
    ``per_class`` (a cap the user did not ask for must not drop classes silently).
    """
    if indices:
        bad = [i for i in indices if not 0 <= i < len(labels)]
        if bad:
            raise KinemicError(f"clip indices {bad} out of range (collection has {len(labels)} clips)")
        return list(indices)
    pool = np.arange(len(labels)) if pool is None else np.asarray(pool)
    if per_class:
        out: list[int] = []
        for label in sorted(set(labels[pool].tolist())):
            out.extend(pool[labels[pool] == label][:per_class].tolist())
        return out[: max(limit, 1)] if limit else out
    return pool[: 12 if limit is None else limit].tolist()
