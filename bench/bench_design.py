"""Benchmark the design stage (hairline, zones, shaved look) on a 12-megapixel photo.

Run: ``PYTHONPATH=. python bench/bench_design.py [PHOTO]``; prints medians of 5 runs after a
warm-up. The photo is upscaled to about 12 MP (4000 x 3000 class) so the numbers match the
interactive target (a slider change re-renders in well under a second).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import cv2

from smp_preview.analysis import analyse
from smp_preview.photo import Photo, load_photo
from smp_preview.preview import render
from smp_preview.settings import Settings
from smp_preview.zones import build_zones

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "samples" / "balding_A000055.jpg"
    rgb = load_photo(path).rgb
    f = (12e6 / (rgb.shape[0] * rgb.shape[1])) ** 0.5
    big = cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
    a = analyse(Photo(big, path.name))
    print(f"{path.name} upscaled to {big.shape[1]}x{big.shape[0]} ({big.shape[0] * big.shape[1] / 1e6:.1f} MP), "
          f"{a.px_per_mm:.2f} px/mm")
    cases = {
        "zones default": lambda s: build_zones(a, s),
        "zones shave": lambda s: build_zones(a, s.replace(shave=True)),
        "render default": lambda s: render(a, s),
        "render shave": lambda s: render(a, s.replace(shave=True)),
    }
    for name, fn in cases.items():
        times = []
        for i in range(6):
            s = Settings(seed=i, hairline_height_mm=70 + i)  # a new slider value each time
            t0 = time.perf_counter()
            fn(s)
            times.append((time.perf_counter() - t0) * 1e3)
        print(f"{name:16s} median {statistics.median(times[1:]):7.0f} ms  (first {times[0]:.0f} ms)")


if __name__ == "__main__":
    main()
