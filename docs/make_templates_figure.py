"""Render the hairline templates side by side on one photo for the README (docs/templates.jpg).

Run: ``PYTHONPATH=. python docs/make_templates_figure.py``
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from smp_preview.analysis import analyse
from smp_preview.compose import add_label, write_image
from smp_preview.photo import load_photo
from smp_preview.preview import render
from smp_preview.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "samples" / "balding_A000055.jpg"
VARIANTS = [
    ("classic, soft", {"hairline": "classic", "hairline_style": "soft"}),
    ("straight, defined", {"hairline": "straight", "hairline_style": "defined"}),
    ("mature, faded", {"hairline": "mature", "hairline_style": "faded"}),
    ("widow's peak, soft", {"hairline": "classic", "widows_peak": True}),
    ("receded temples", {"hairline": "classic", "receded_temples": True}),
    ("70 mm, dark", {"hairline_height_mm": 70.0, "shade": "dark"}),
]
SCALE = 2


def _caption(img: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((28, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (20, 20, 20), 1, cv2.LINE_AA)
    return np.concatenate([bar, img], axis=0)


def main() -> None:
    a = analyse(load_photo(PHOTO))
    tiles, lines = [], []
    for title, kw in VARIANTS:
        p = render(a, Settings(shave=True, density_per_cm2=90, seed=3, **kw))
        y0, y1, x0, x1 = 10, 230, 50, 290
        crop = cv2.resize(p.after[y0:y1, x0:x1], None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_CUBIC)
        tiles.append(_caption(crop, title))
        # the same design as a line over the original photo, for reading the shape
        line = cv2.resize(a.rgb[y0:y1, x0:x1], None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_CUBIC)
        pts = (p.zones.hairline_px - np.array([x0, y0])) * SCALE
        cv2.polylines(line, [np.round(pts).astype(np.int32)], False, (230, 30, 30), 2, cv2.LINE_AA)
        lines.append(line)
    row1 = np.concatenate(tiles, axis=1)
    row2 = np.concatenate(lines, axis=1)
    fig, _ = add_label(np.concatenate([row1, row2], axis=0))
    out = ROOT / "docs" / "templates.jpg"
    write_image(out, fig)
    print(out, fig.shape)


if __name__ == "__main__":
    main()
