"""Render the README's pictures from the bundled samples: ``python docs/make_figures.py``.

Writes docs/before_after.png: head crops of the samples, before above after, each after image
carrying its simulation label.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smp_preview.analysis import analyse  # noqa: E402
from smp_preview.compose import add_label, write_image  # noqa: E402
from smp_preview.photo import load_photo  # noqa: E402
from smp_preview.preview import render  # noqa: E402
from smp_preview.settings import Settings  # noqa: E402

SAMPLES = ["bald_S001224.jpg", "balding_A000055.jpg", "biden.jpg"]
HEIGHT = 360


def head_crop(img: np.ndarray, analysis) -> np.ndarray:
    f, s = analysis.face, analysis.px_per_mm
    g = f.glabella
    h, w = img.shape[:2]
    y0, y1 = int(max(0, g[1] - 130 * s)), int(min(h, g[1] + 120 * s))
    x0, x1 = int(max(0, g[0] - 110 * s)), int(min(w, g[0] + 110 * s))
    crop = img[y0:y1, x0:x1]
    return cv2.resize(crop, (round(crop.shape[1] * HEIGHT / crop.shape[0]), HEIGHT), interpolation=cv2.INTER_AREA)


def main() -> None:
    columns = []
    for name in SAMPLES:
        a = analyse(load_photo(ROOT / "samples" / name))
        p = render(a, Settings())
        before = head_crop(a.rgb, a)
        after = add_label(head_crop(p.after, a))[0]
        columns.append(np.concatenate([before, np.full((6, before.shape[1], 3), 255, np.uint8), after], axis=0))
    gap = np.full((columns[0].shape[0], 6, 3), 255, np.uint8)
    parts = []
    for c in columns:
        parts += [c, gap]
    write_image(ROOT / "docs" / "before_after.png", np.concatenate(parts[:-1], axis=1))


if __name__ == "__main__":
    main()
