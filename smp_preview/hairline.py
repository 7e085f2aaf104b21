"""Hairline templates placed from the landmarks and the physical scale.

A hairline is described in the face's own frame: ``u`` mm to the side of the glabella
(positive towards the image right) and the height in mm above the glabella *along the skin*.
The forehead curves away from the camera, so a height along the skin is shorter in the photo:
we model the sagittal forehead profile as a circular arc of radius `FOREHEAD_RADIUS_MM`.
"""

from __future__ import annotations

import numpy as np

from .face import FaceGeometry

FOREHEAD_RADIUS_MM = 95.0
"""Radius of curvature of the frontal bone in the mid-sagittal plane (adults: about 90-100 mm)."""

TEMPLATE_PROFILES = {
    # name: (rise of the temple corners above the midpoint in mm, exponent of the arc, peak depth)
    "classic": (10.0, 2.2, 0.0),
    "straight": (3.0, 3.0, 0.0),
    "mature": (20.0, 1.8, 0.0),
    "widows_peak": (12.0, 2.0, 7.0),
}


def projected_height_mm(height_along_skin_mm: np.ndarray | float, pitch_deg: float = 0.0) -> np.ndarray:
    """Image-plane height above the glabella of a point ``s`` mm up the skin.

    The forehead is an arc of radius R starting vertical at the glabella; the camera looks
    horizontally (tilted by the pitch). ``h = R sin(s/R + pitch) - R sin(pitch)``.
    """
    s = np.asarray(height_along_skin_mm, dtype=np.float64)
    r = FOREHEAD_RADIUS_MM
    p = np.radians(pitch_deg)
    return r * np.sin(np.clip(s / r + p, -np.pi / 2, np.pi / 2)) - r * np.sin(p)


def temple_half_width_mm(face: FaceGeometry, px_per_mm: float) -> float:
    """Half the distance between the lateral eye corners, mm (the temple corners lie above them)."""
    a, b = face.eye_corners
    return float(np.linalg.norm(b - a)) / px_per_mm / 2.0


def hairline_height_mm(
    u_mm: np.ndarray,
    *,
    template: str,
    midpoint_mm: float,
    temple_u_mm: float,
    rng: np.random.Generator | None = None,
    irregularity_mm: float = 0.0,
) -> np.ndarray:
    """Height of the hairline above the glabella along the skin, as a function of ``u`` (mm)."""
    rise, power, peak = TEMPLATE_PROFILES[template]
    t = np.clip(np.abs(u_mm) / max(temple_u_mm, 1.0), 0.0, None)
    height = midpoint_mm + rise * np.minimum(t, 1.0) ** power
    if peak:
        height = height - peak * np.exp(-((u_mm / 9.0) ** 2))
    # Beyond the temple corner the hairline turns down the side of the head.
    side = t > 1.0
    height = np.where(side, height - 120.0 * (t - 1.0), height)
    if rng is not None and irregularity_mm > 0:
        # Smooth, seed-driven wobble (at most about +-irregularity_mm), never a laser-straight line.
        k = rng.uniform(0.15, 0.6, size=4)
        ph = rng.uniform(0, 2 * np.pi, size=4)
        amp = irregularity_mm * np.array([0.45, 0.25, 0.2, 0.1])
        height = height + sum(a * np.sin(kk * u_mm + p) for a, kk, p in zip(amp, k, ph))
    return height
