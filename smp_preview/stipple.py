"""Blue-noise dot placement at a physical, spatially varying density.

Positions come from a vectorised grid-based Poisson-disk sampler (parallel dart throwing,
Wei 2008) at a density a little above the highest target, then thinned point by point to the
local target density. Thinning keeps the minimum spacing and makes the expected dot count equal
the target everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Cumulative share of the final density after each session, by the number of sessions planned.
SESSION_LAYERS = {1: (1.0,), 2: (0.5, 1.0), 3: (0.3, 0.7, 1.0), 4: (0.3, 0.6, 0.85, 1.0)}

OVERSAMPLE = 1.25
"""The Poisson-disk set is generated at this multiple of the highest target density."""
MAXIMAL_PACKING = 0.64
"""Dots per r² of a (near) maximal Poisson-disk set of radius r, measured for this sampler."""


@dataclass(frozen=True, eq=False)
class Dots:
    """Dot centres in image pixels (float32 x, y), the session that adds each, and jitters."""

    xy: np.ndarray  # (N, 2)
    session: np.ndarray  # (N,) int8, 1-based
    size: np.ndarray  # (N,) relative diameter, about 1
    strength: np.ndarray  # (N,) relative pigment strength, about 1
    min_spacing_px: float

    def __len__(self) -> int:
        return len(self.xy)

    def upto(self, session: int) -> Dots:
        keep = self.session <= session
        return Dots(self.xy[keep], self.session[keep], self.size[keep], self.strength[keep], self.min_spacing_px)


def min_spacing_mm(max_density_per_cm2: float) -> float:
    """The Poisson-disk radius used for a given highest density (mm)."""
    d = max(max_density_per_cm2, 1e-3) * OVERSAMPLE / 100.0  # dots per mm²
    return float(np.sqrt(MAXIMAL_PACKING / d))


def poisson_disk(width: float, height: float, radius: float, rng: np.random.Generator,
                 rounds: int = 12) -> np.ndarray:
    """Poisson-disk points in [0,width)x[0,height), no pair closer than ``radius``.

    Grid of cells of side r/sqrt(2) (at most one point each); in each round every empty
    cell of one of 9 phases gets a dart at once, checked against its 5x5 neighbourhood.
    Cells of one phase are 3 cells apart, so their darts cannot conflict with each other.
    """
    cell = radius / np.sqrt(2.0)
    gw, gh = int(np.ceil(width / cell)), int(np.ceil(height / cell))
    if gw == 0 or gh == 0:
        return np.zeros((0, 2), np.float32)
    pad = 2
    grid = np.full((gh + 2 * pad, gw + 2 * pad, 2), np.nan, np.float32)
    r2 = radius * radius
    jj, ii = np.meshgrid(np.arange(gw), np.arange(gh))
    for _ in range(rounds):
        for py in range(3):
            for px in range(3):
                sel_i = ii[py::3, px::3].ravel()
                sel_j = jj[py::3, px::3].ravel()
                empty = np.isnan(grid[sel_i + pad, sel_j + pad, 0])
                sel_i, sel_j = sel_i[empty], sel_j[empty]
                if sel_i.size == 0:
                    continue
                cand = np.stack(
                    [(sel_j + rng.random(sel_j.size)) * cell, (sel_i + rng.random(sel_i.size)) * cell], axis=1
                ).astype(np.float32)
                ok = (cand[:, 0] < width) & (cand[:, 1] < height)
                for di in range(-2, 3):
                    for dj in range(-2, 3):
                        nb = grid[sel_i + pad + di, sel_j + pad + dj]
                        d2 = ((nb - cand) ** 2).sum(axis=1)
                        ok &= ~(d2 < r2)  # NaN compares False: empty cells never conflict
                grid[sel_i[ok] + pad, sel_j[ok] + pad] = cand[ok]
    pts = grid[pad:-pad, pad:-pad].reshape(-1, 2)
    return pts[~np.isnan(pts[:, 0])]


def stipple(density_per_cm2: np.ndarray, px_per_mm: float, *, origin_xy: tuple[float, float] = (0.0, 0.0),
            seed: int = 0, sessions: int = 3, size_jitter: float = 0.15,
            strength_jitter: float = 0.15) -> Dots:
    """Place dots over a density field.

    Parameters
    ----------
    density_per_cm2 : (H, W) float array
        Target dots per cm² at each pixel; 0 where no dot may go.
    px_per_mm : float
        Scale of the image.
    origin_xy : (x, y)
        Image coordinates of the field's top-left pixel.
    seed : int
        Same seed, same dots.
    sessions : int
        Number of sessions (1-4); each dot is assigned to the session that adds it, so that
        after session k the cumulative share of `SESSION_LAYERS` is reached.
    """
    rng = np.random.default_rng(seed)
    dmax = float(density_per_cm2.max()) if density_per_cm2.size else 0.0
    if dmax <= 0:
        z = np.zeros(0, np.float32)
        return Dots(np.zeros((0, 2), np.float32), z.astype(np.int8), z, z, 0.0)
    h, w = density_per_cm2.shape
    r_mm = min_spacing_mm(dmax)
    pts_mm = poisson_disk(w / px_per_mm, h / px_per_mm, r_mm, rng)
    generated_per_cm2 = len(pts_mm) / (w * h / px_per_mm**2 / 100.0)
    pts = pts_mm * px_per_mm
    ix = np.clip(pts[:, 0].astype(np.int64), 0, w - 1)
    iy = np.clip(pts[:, 1].astype(np.int64), 0, h - 1)
    target = density_per_cm2[iy, ix]
    keep = rng.random(len(pts)) < target / max(generated_per_cm2, 1e-6)
    pts = pts[keep]
    n = len(pts)
    layers = np.asarray(SESSION_LAYERS[int(sessions)])
    u = rng.random(n)
    session = (np.searchsorted(layers, u, side="right") + 1).clip(1, len(layers)).astype(np.int8)
    size = np.clip(1.0 + size_jitter * rng.standard_normal(n), 0.5, 1.6).astype(np.float32)
    strength = np.clip(1.0 + strength_jitter * rng.standard_normal(n), 0.4, 1.5).astype(np.float32)
    xy = (pts + np.asarray(origin_xy, np.float32)).astype(np.float32)
    return Dots(xy, session, size, strength, r_mm * px_per_mm)
