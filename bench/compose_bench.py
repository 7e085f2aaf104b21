#!/usr/bin/env python
"""Micro-benchmark of smp_preview.compose at one photo size (medians).

    PYTHONPATH=. python bench/compose_bench.py [--size 12] [--repeats 7] [--photo samples/biden.jpg]
    git show REV:smp_preview/compose.py > /tmp/compose_old.py
    PYTHONPATH=. python bench/compose_bench.py --against /tmp/compose_old.py   # before/after, interleaved

Times add_label, side_by_side and write_image (PNG and JPEG, with the output size), and the
plain cv2.imencode of the same image with OpenCV's default parameters for comparison.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]


class Ms(float):
    """Wall-clock ms that prints with the CPU ms of the process (all threads) beside it."""

    def __new__(cls, wall, cpu):
        x = super().__new__(cls, wall)
        x.cpu = cpu
        return x

    def __format__(self, spec):
        return f"{float(self):{spec}} (cpu {self.cpu:{spec}})"

    def __sub__(self, other):
        return Ms(float(self) - float(other), self.cpu - other.cpu)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=float, default=12.0)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--photo", type=Path, default=ROOT / "samples" / "biden.jpg")
    ap.add_argument("--against", type=Path, default=None,
                    help="another compose.py (e.g. an older revision) timed interleaved with the current one")
    args = ap.parse_args()
    import importlib.util

    from smp_preview import compose

    mods = {"current": compose}
    if args.against:
        spec = importlib.util.spec_from_file_location("compose_against", args.against)
        mods = {"before": importlib.util.module_from_spec(spec), "after": compose}
        spec.loader.exec_module(mods["before"])

    bgr = cv2.imread(str(args.photo))
    h, w = bgr.shape[:2]
    f = math.sqrt(args.size * 1e6 / (h * w))
    bgr = cv2.resize(bgr, (round(w * f), round(h * f)), interpolation=cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def t(fns):
        """Medians of each function, run interleaved (fair under a varying machine load)."""
        xs = {k: [] for k in fns}
        cs = {k: [] for k in fns}
        for _ in range(args.repeats):
            for k, fn in fns.items():
                c0, t0 = time.process_time(), time.perf_counter()
                fn()
                xs[k].append((time.perf_counter() - t0) * 1e3)
                cs[k].append((time.process_time() - c0) * 1e3)
        return {k: Ms(statistics.median(xs[k]), statistics.median(cs[k])) for k in fns}

    print(f"{args.photo.name} at {rgb.shape[1]}x{rgb.shape[0]} ({rgb.shape[0] * rgb.shape[1] / 1e6:.1f} MP), "
          f"medians of {args.repeats}, interleaved; wall ms (cpu ms of all threads)\n")
    names = list(mods)
    print("| operation | " + " | ".join(f"{n} ms" for n in names) + " | output MB |")
    print("|---" * (len(names) + 2) + "|")
    r = t({n: (lambda m=m: m.add_label(rgb)) for n, m in mods.items()})
    print("| compose.add_label | " + " | ".join(f"{r[n]:.1f}" for n in names) + " | |")
    if "inplace" in compose.add_label.__code__.co_varnames:
        r = t({"x": lambda: compose.add_label(rgb.copy(), inplace=True), "c": lambda: rgb.copy()})
        print(f"| compose.add_label(inplace=True), current | {r['x'] - r['c']:.1f} (without the test's own copy) | | |")
    r = t({n: (lambda m=m: m.side_by_side(rgb, rgb)) for n, m in mods.items()})
    print("| compose.side_by_side | " + " | ".join(f"{r[n]:.1f}" for n in names) + " | |")
    with tempfile.TemporaryDirectory() as d:
        for ext in ("png", "jpg"):
            paths = {n: Path(d) / f"{n}.{ext}" for n in names}
            r = t({n: (lambda m=m, n=n: m.write_image(paths[n], rgb)) for n, m in mods.items()})
            sizes = " / ".join(f"{paths[n].stat().st_size / 1e6:.2f}" for n in names)
            print(f"| compose.write_image .{ext} | " + " | ".join(f"{r[n]:.1f}" for n in names) + f" | {sizes} |")
            r = t({"floor": lambda: cv2.imencode("." + ext, bgr)})
            print(f"| cv2.imencode .{ext}, default parameters (floor) | " + " | ".join(
                f"{r['floor']:.1f}" for _ in names) + f" | {cv2.imencode('.' + ext, bgr)[1].nbytes / 1e6:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
