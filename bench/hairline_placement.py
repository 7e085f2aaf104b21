"""Where the default 80 mm hairline lands on the house portraits (evidence for the head model).

Run: ``PYTHONPATH=. python bench/hairline_placement.py [/work/shared/photos/house]``; prints per
photo the fitted head model, the image height of 80 mm along the skin and its gap to the top of
the head outline, then the ranges and medians.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from smp_preview.analysis import analyse
from smp_preview.hairline import fit_head_model, fit_skull
from smp_preview.photo import load_photo

HOUSE = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "photos" / "house"


def main() -> None:
    heights, gaps = [], []
    for p in sorted((HOUSE / "photos").glob("*.jpg")):
        a = analyse(load_photo(p), allow_several_faces=True)
        skull = fit_skull(a.labels, a.face, a.px_per_mm)
        head = fit_head_model(a.labels, a.face, a.px_per_mm, skull)
        h80 = float(head.image_height_mm(80.0))
        heights.append(h80)
        gaps.append(head.silhouette_top_mm() - h80)
        print(f"{p.stem}: pitch {a.face.pitch_deg:5.1f} deg, forehead {head.inclination_deg:5.1f} deg, "
              f"R {head.radius_mm:5.1f} mm, top {head.silhouette_top_mm():5.1f} mm ({skull.top_source}), "
              f"80 mm -> {h80:5.1f} mm, {gaps[-1]:5.1f} mm below the top")
    print(f"80 mm lands {min(heights):.0f}-{max(heights):.0f} mm (median {np.median(heights):.0f}) above the glabella, "
          f"{min(gaps):.0f}-{max(gaps):.0f} mm (median {np.median(gaps):.0f}) below the top, n={len(heights)}")


if __name__ == "__main__":
    main()
