"""Our grid Poisson-disk sampler against scipy.stats.qmc.PoissonDisk: time, count, spacing.

    PYTHONPATH=. python bench/bench_stipple.py

Both sample a 200 x 150 mm field (300 cm²) at the radius `stipple` uses for 100 dots/cm²;
prints median times over a few runs, points per cm² and the smallest pair distance.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import qmc

from smp_preview.stipple import min_spacing_mm, poisson_disk, stipple


def _median_time(fn, n=3):
    ts, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def main() -> None:
    w_mm, h_mm = 200.0, 150.0
    r = min_spacing_mm(100.0)
    area_cm2 = w_mm * h_mm / 100.0
    t_ours, pts = _median_time(lambda: poisson_disk(w_mm, h_mm, r, np.random.default_rng(0)))
    d_ours = cKDTree(pts).query(pts, k=2)[0][:, 1].min()
    print(f"ours   radius {r:.3f} mm: {t_ours * 1e3:7.0f} ms median, {len(pts) / area_cm2:6.1f} pts/cm², "
          f"min pair {d_ours:.3f} mm, {len(pts)} pts")
    # qmc works in the unit square: scale the radius; keep the aspect by sampling a square and cropping
    side = max(w_mm, h_mm)

    def q():
        eng = qmc.PoissonDisk(d=2, radius=r / side, seed=0)
        p = eng.fill_space() * side
        return p[(p[:, 0] < w_mm) & (p[:, 1] < h_mm)]

    t_q, qp = _median_time(q, n=1)
    d_q = cKDTree(qp).query(qp, k=2)[0][:, 1].min()
    print(f"qmc    radius {r:.3f} mm: {t_q * 1e3:7.0f} ms (1 run, on a {side:.0f} mm square), "
          f"{len(qp) / area_cm2:6.1f} pts/cm², min pair {d_q:.3f} mm, {len(qp)} pts")
    dens = np.full((int(h_mm * 2), int(w_mm * 2)), 80.0, np.float32)
    t_s, dots = _median_time(lambda: stipple(dens, 2.0, seed=0))
    print(f"stipple 80/cm² on {dens.shape[1]}x{dens.shape[0]} px at 2 px/mm: {t_s * 1e3:.0f} ms median, "
          f"{len(dots)} dots ({len(dots) / area_cm2:.1f}/cm²)")


if __name__ == "__main__":
    main()
