"""Blue-noise dot placement at a physical, spatially varying density.

Positions come from a vectorised grid-based Poisson-disk sampler (parallel dart throwing,
Wei 2008) at a density a little above the highest target, then thinned point by point to the
local target density. Thinning keeps the minimum spacing and makes the expected dot count equal
the target everywhere. Sessions are progressive layers: each adds darts between the dots already
placed, at a radius shrinking to the final one (so every session's result is evenly spread).

``scipy.stats.qmc.PoissonDisk`` does uniform density only and, measured with
``bench/bench_stipple.py`` on 300 cm² at the 100/cm² radius, took 25-42 s against 0.6-1.0 s here
(2 shared cores under load; about 40x slower, and fewer points: 117-122 against 126-127 per cm²).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Cumulative share of the final density after each session, by the number of sessions planned.
SESSION_LAYERS = {1: (1.0,), 2: (0.5, 1.0), 3: (0.3, 0.7, 1.0), 4: (0.3, 0.6, 0.85, 1.0)}

OVERSAMPLE = 1.25
"""The Poisson-disk set is generated at this multiple of the highest target density."""
MAXIMAL_PACKING = 0.61
"""Dots per r² of the Poisson-disk set of radius r this sampler makes in 6 rounds (measured)."""


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
                 rounds: int = 6, *, existing: np.ndarray | None = None,
                 allowed: np.ndarray | None = None) -> np.ndarray:
    """Poisson-disk points in [0,width)x[0,height), no pair closer than ``radius``.

    Grid of cells of side r/sqrt(2) (at most one point each); in each round every empty
    cell of one of 9 phases gets a dart at once, checked against its 5x5 neighbourhood.
    Cells of one phase are 3 cells apart, so their darts cannot conflict with each other.

    ``existing`` points (no pair closer than ``radius``) occupy the grid first; only the new
    points are returned, none closer than ``radius`` to an existing one (a progressive sampler).
    ``allowed`` (bool, any shape: resized to the grid) restricts the darts to part of the area.
    """
    cell = radius / np.sqrt(2.0)
    gw, gh = int(np.ceil(width / cell)), int(np.ceil(height / cell))
    if gw == 0 or gh == 0:
        return np.zeros((0, 2), np.float32)
    pad = 2
    W = gw + 2 * pad
    # Separate x and y grids, addressed by flat index (NaN: empty cell).
    gx = np.full((gh + 2 * pad) * W, np.nan, np.float32)
    gy = np.full_like(gx, np.nan)
    if existing is not None and len(existing):
        ex = np.asarray(existing, np.float32)
        ci = np.clip((ex[:, 1] / cell).astype(np.int64), 0, gh - 1)
        cj = np.clip((ex[:, 0] / cell).astype(np.int64), 0, gw - 1)
        fi = (ci + pad) * W + cj + pad
        gx[fi], gy[fi] = ex[:, 0], ex[:, 1]
    taken = ~np.isnan(gx)
    r2 = np.float32(radius * radius)
    live = np.ones((gh, gw), bool)
    if allowed is not None:
        import cv2

        live = cv2.resize(allowed.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA) > 0
        live = cv2.dilate(live.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    # The 5x5 neighbourhood without its 4 corners: a point in a corner cell is at least one whole
    # cell (r / sqrt 2) away along both axes, so at least r away: it can never conflict.
    ndi, ndj = [a.ravel() for a in np.meshgrid(np.arange(-2, 3), np.arange(-2, 3), indexing="ij")]
    corner = (np.abs(ndi) == 2) & (np.abs(ndj) == 2)
    nb_off = (ndi * W + ndj)[~corner]
    # The cells of each of the 9 phases, as grid coordinates and flat indices (fixed per call).
    phases = []
    for py in range(3):
        for px in range(3):
            jj, ii = np.meshgrid(np.arange(px, gw, 3), np.arange(py, gh, 3))
            ii, jj = ii.ravel(), jj.ravel()
            keep = live[ii, jj]
            ii, jj = ii[keep], jj[keep]
            phases.append((ii, jj, (ii + pad) * W + jj + pad))
    for _ in range(rounds):
        added = 0
        for sel_i, sel_j, flat in phases:
            empty = np.isnan(gx[flat])
            if not empty.any():
                continue
            sel_i, sel_j, flat = sel_i[empty], sel_j[empty], flat[empty]
            n = sel_i.size
            # same draws as before: x offsets for all, then y offsets for all
            cx = ((sel_j + rng.random(n)) * cell).astype(np.float32)
            cy = ((sel_i + rng.random(n)) * cell).astype(np.float32)
            ok = (cx < width) & (cy < height)
            idx = flat[:, None] + nb_off[None, :]  # the 21 neighbour cells of every candidate
            dx = gx[idx] - cx[:, None]
            dy = gy[idx] - cy[:, None]
            d2 = dx * dx + dy * dy
            ok &= ~(d2 < r2).any(axis=1)  # NaN compares False: empty cells never conflict
            gx[flat[ok]], gy[flat[ok]] = cx[ok], cy[ok]
            added += int(ok.sum())
        if added == 0:
            break
    new = ~np.isnan(gx) & ~taken
    return np.stack([gx[new], gy[new]], axis=1)


def _local_density_per_cm2(pts_mm: np.ndarray, inside: np.ndarray, px_per_mm: float,
                           sigma_mm: float = 3.0) -> np.ndarray:
    """Smooth density (per cm²) of ``pts_mm`` around each of them, counted only inside the field's
    non-zero area (``inside``, a pixel mask) and normalised by it, so that the empty space outside
    a zone does not inflate the estimate near its edge (normalised convolution)."""
    import cv2

    h, w = inside.shape
    b = 1.0  # 1 mm bins
    nx, ny = max(1, int(np.ceil(w / px_per_mm / b))), max(1, int(np.ceil(h / px_per_mm / b)))
    ix = np.clip((pts_mm[:, 0] * px_per_mm).astype(np.int64), 0, w - 1)
    iy = np.clip((pts_mm[:, 1] * px_per_mm).astype(np.int64), 0, h - 1)
    ok = inside[iy, ix]
    hist, _, _ = np.histogram2d(pts_mm[ok, 1], pts_mm[ok, 0], bins=(ny, nx), range=((0, ny * b), (0, nx * b)))
    frac = cv2.resize(inside.astype(np.float32), (nx, ny), interpolation=cv2.INTER_AREA)
    blur = lambda a: cv2.GaussianBlur(a.astype(np.float32), (0, 0), sigma_mm / b, borderType=cv2.BORDER_CONSTANT)
    dens = blur(hist) / np.maximum(blur(frac), 1e-3) * (100.0 / b**2)
    by = np.clip((pts_mm[:, 1] / b).astype(np.int64), 0, ny - 1)
    bx = np.clip((pts_mm[:, 0] / b).astype(np.int64), 0, nx - 1)
    return dens[by, bx]


def stipple(density_per_cm2: np.ndarray, px_per_mm: float, *, origin_xy: tuple[float, float] = (0.0, 0.0),
            seed: int = 0, sessions: int = 3, size_jitter: float = 0.15,
            strength_jitter: float = 0.15) -> Dots:
    """Place dots over a density field, one blue-noise layer per session.

    Parameters
    ----------
    density_per_cm2 : (H, W) float array
        Target dots per cm² at each pixel (after the last session); 0 where no dot may go.
    px_per_mm : float
        Scale of the image.
    origin_xy : (x, y)
        Image coordinates of the field's top-left pixel.
    seed : int
        Same seed, same dots.
    sessions : int
        Number of sessions (1-4). Session k adds a layer that brings the density to the share
        ``SESSION_LAYERS[sessions][k-1]`` of the target, as an artist does: new dots go between the
        ones already there (progressive Poisson-disk sampling with a radius shrinking to the final
        one), so the result after every session is itself evenly spread, and no two dots of any
        sessions are closer than ``min_spacing_px``.
    size_jitter, strength_jitter : float
        Relative standard deviation of each dot's diameter and pigment strength.

    Notes
    -----
    Each layer is generated at about 1.25 times its cumulative target density (a near-maximal
    Poisson-disk set of radius ``min_spacing_mm``) and thinned dot by dot with probability
    (new target density / locally generated density), so the expected count matches the target
    everywhere, also where the target varies (feathered hairlines, thinning areas).
    """
    rng = np.random.default_rng(seed)
    dmax = float(density_per_cm2.max()) if density_per_cm2.size else 0.0
    if dmax <= 0:
        z = np.zeros(0, np.float32)
        return Dots(np.zeros((0, 2), np.float32), z.astype(np.int8), z, z, 0.0)
    h, w = density_per_cm2.shape
    w_mm, h_mm = w / px_per_mm, h / px_per_mm
    layers = SESSION_LAYERS[int(sessions)]
    pts_mm = np.zeros((0, 2), np.float32)
    session = np.zeros(0, np.int8)
    before = 0.0
    r_mm = min_spacing_mm(dmax)
    for k, share in enumerate(layers, start=1):
        r_mm = min_spacing_mm(dmax * share)
        cand = poisson_disk(w_mm, h_mm, r_mm, rng, existing=pts_mm, allowed=density_per_cm2 > 0)
        if len(cand) == 0:
            before = share
            continue
        ix = np.clip((cand[:, 0] * px_per_mm).astype(np.int64), 0, w - 1)
        iy = np.clip((cand[:, 1] * px_per_mm).astype(np.int64), 0, h - 1)
        target_new = density_per_cm2[iy, ix] * (share - before)
        generated = _local_density_per_cm2(cand, density_per_cm2 > 0, px_per_mm)
        keep = rng.random(len(cand)) < target_new / np.maximum(generated, 1e-6)
        pts_mm = np.concatenate([pts_mm, cand[keep]])
        session = np.concatenate([session, np.full(int(keep.sum()), k, np.int8)])
        before = share
    n = len(pts_mm)
    size = np.clip(1.0 + size_jitter * rng.standard_normal(n), 0.5, 1.6).astype(np.float32)
    strength = np.clip(1.0 + strength_jitter * rng.standard_normal(n), 0.4, 1.5).astype(np.float32)
    xy = (pts_mm * px_per_mm + np.asarray(origin_xy, np.float32)).astype(np.float32)
    return Dots(xy, session, size, strength, r_mm * px_per_mm)
