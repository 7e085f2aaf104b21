"""Treatment zones: from the label map, the hairline and the mode to a density field."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .analysis import HeadAnalysis
from .errors import BadSetting
from .hairline import hairline_height_mm, projected_height_mm, temple_half_width_mm
from .segment import HAIR, SCALP
from .settings import Settings

STYLE_BAND_MM = {"defined": 0.6, "soft": 3.0, "faded": 8.0}
"""Width of the ramp from no dots to full density at the hairline, mm."""
SCAR_MARGIN_MM = 2.0
HAIRLINE_ONLY_DEPTH_MM = 30.0


@dataclass(frozen=True, eq=False)
class Zones:
    """Target density in dots/cm² over a bounding box of the photo.

    ``density`` is float32 of shape (y1-y0, x1-x0); zero means untouched. ``full`` marks the
    pixels where the density is at its full target (not in a feathered edge).
    """

    density: np.ndarray
    bbox: tuple[int, int, int, int]  # y0, y1, x0, x1
    full: np.ndarray
    scars: np.ndarray  # bool, same box: scar tissue (reduced pigment uptake)
    hairline_px: np.ndarray  # (N, 2) image points of the designed hairline, for drawing

    @property
    def mask(self) -> np.ndarray:
        return self.density > 0

    def full_mask(self, shape: tuple[int, int]) -> np.ndarray:
        """The treated zone as a full-size boolean mask."""
        out = np.zeros(shape, bool)
        y0, y1, x0, x1 = self.bbox
        out[y0:y1, x0:x1] = self.mask
        return out

    def area_cm2(self, px_per_mm: float) -> float:
        return float(self.mask.sum()) / (px_per_mm * 10.0) ** 2


def _bbox(mask: np.ndarray, pad: int, shape) -> tuple[int, int, int, int]:
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if ys.size == 0:
        return 0, 0, 0, 0
    h, w = shape
    return max(0, ys[0] - pad), min(h, ys[-1] + 1 + pad), max(0, xs[0] - pad), min(w, xs[-1] + 1 + pad)


def build_zones(analysis: HeadAnalysis, settings: Settings, scars: np.ndarray | None = None) -> Zones:
    """Per-pixel target density (dots/cm²) for ``settings`` on the analysed photo."""
    labels = analysis.labels
    shape = labels.shape
    s = analysis.px_per_mm
    face = analysis.face
    if scars is not None and scars.shape != shape:
        raise BadSetting(
            f"The scar mask is {scars.shape[1]}x{scars.shape[0]} pixels but the photo is {shape[1]}x{shape[0]}.",
            "Draw the scar mask on the same photo (same size, after rotation).",
        )
    scalp = labels == SCALP
    allowed = scalp.copy()
    if settings.mode == "scars":
        if scars is None or not scars.any():
            raise BadSetting("Mode 'scars' needs a scar mask.", "Give --scars MASK.png or draw the scars.")
    candidate = allowed | (scars if scars is not None else False)
    y0, y1, x0, x1 = _bbox(candidate, 2, shape)
    if y1 <= y0:
        empty = np.zeros((0, 0), np.float32)
        return Zones(empty, (0, 0, 0, 0), empty.astype(bool), empty.astype(bool), np.zeros((0, 2)))
    box = (slice(y0, y1), slice(x0, x1))
    allowed_b = allowed[box]
    rng = np.random.default_rng(settings.seed)

    hairline_pts = np.zeros((0, 2))
    if face is not None:
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        g = face.glabella
        up, right = face.up, face.right
        u = ((xs - g[0]) * right[0] + (ys - g[1]) * right[1]) / s
        v = ((xs - g[0]) * up[0] + (ys - g[1]) * up[1]) / s
        temple_u = temple_half_width_mm(face, s)
        line_skin = hairline_height_mm(
            u, template=settings.hairline, midpoint_mm=settings.hairline_height_mm,
            temple_u_mm=temple_u, rng=np.random.default_rng(settings.seed + 17),
            irregularity_mm=1.5 if settings.hairline_style != "defined" else 0.6,
        )
        line_img = projected_height_mm(line_skin)
        band = STYLE_BAND_MM[settings.hairline_style]
        dist = v - line_img  # mm above the hairline in the image plane
        if settings.hairline_style == "soft":
            ramp = np.clip(dist / band, 0, 1)
            ahead = (dist < 0) & (dist > -2.5)
            # scattered single dots ahead of the line: a sparse, uneven fringe
            noise = cv2.GaussianBlur(rng.random(dist.shape, dtype=np.float32), (0, 0), max(1.0, 1.2 * s))
            noise = (noise - noise.mean()) / (noise.std() + 1e-6)
            ramp = np.where(ahead, 0.12 * np.clip(1 + noise, 0, 2), ramp)
        elif settings.hairline_style == "faded":
            ramp = np.where(dist > 0, 0.3 + 0.7 * np.clip(dist / band, 0, 1), 0.0)
        else:
            ramp = (dist > 0).astype(np.float32)
        if settings.mode == "hairline":
            ramp = ramp * (dist < HAIRLINE_ONLY_DEPTH_MM)
        # polyline for drawing
        uu = np.linspace(-temple_u * 1.15, temple_u * 1.15, 80)
        hh = projected_height_mm(hairline_height_mm(uu, template=settings.hairline,
                                                    midpoint_mm=settings.hairline_height_mm,
                                                    temple_u_mm=temple_u))
        hairline_pts = g[None, :] + (uu[:, None] * right[None, :] + hh[:, None] * up[None, :]) * s
    else:
        ramp = np.ones(allowed_b.shape, np.float32)

    density = np.where(allowed_b, ramp, 0.0).astype(np.float32) * settings.density_per_cm2
    if settings.mode == "thinning":
        cov = analysis.segmentation.hair_coverage[box]
        density *= np.clip(1.0 - 0.5 * cov, 0.0, 1.0)
        density[labels[box] == HAIR] = 0.0
    if settings.mode == "scars":
        density[:] = 0.0
    scar_b = np.zeros(allowed_b.shape, bool)
    if scars is not None:
        r = max(1, int(round(SCAR_MARGIN_MM * s)))
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        scar_zone = cv2.dilate(scars[box].astype(np.uint8), k).astype(bool) & (labels[box] == SCALP)
        density[scar_zone] = settings.density_per_cm2
        scar_b = scars[box] & scar_zone
    full = density >= settings.density_per_cm2 * 0.999
    return Zones(density, (y0, y1, x0, x1), full, scar_b, hairline_pts)
