"""Pigment in skin: shades, looks over time, and the rendering of dots into the photo.

Optical model: a dot is a filter under the skin surface. In linear light a pixel becomes
``skin * (1 - c * (1 - T))`` where ``c`` is the fraction of the pixel the dot covers
(area-weighted, so a sub-pixel dot gives its exact average darkening) and ``T`` the pigment's
transmittance per channel. ``T`` is larger in blue than in red, the cool shift of carbon black
seen through the dermis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import BadSetting
from .settings import parse_look
from .stipple import Dots

# Named dilutions, lightest to darkest: (dilution, transmittance filter as sRGB hex).
SHADES = {
    "lightest": ("20:1", "#c9cacd"),
    "light": ("15:1", "#adb0b6"),
    "medium": ("10:1", "#8e9299"),
    "dark": ("6:1", "#6f747c"),
    "darkest": ("3:1", "#52575f"),
}
SHADE_ORDER = tuple(SHADES)

SUBSURFACE_BLUR_MM = 0.05
"""Extra softness of a dot's edge from light scattered in the skin above the pigment."""
HALO_SIGMA_MM = 0.30
"""Lateral spread (Gaussian sigma) of the faint shadow around a dot: light that wanders in the
dermis crosses the pigment deposit on its way in or out, so a deposit darkens a patch wider
than itself (the grey "shadow" of healed SMP at portrait scale)."""
HALO_GAIN = 3.0
"""Darkening in the halo, integrated, relative to the dot's own area."""


_SRGB_TO_LIN = np.where(
    (v := np.arange(256) / 255.0) <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4
).astype(np.float32)


def srgb_to_linear(rgb_u8: np.ndarray) -> np.ndarray:
    return _SRGB_TO_LIN[rgb_u8]


def linear_to_srgb_u8(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0.0, 1.0)
    s = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * np.power(lin, 1 / 2.4) - 0.055)
    return np.clip(np.rint(s * 255.0), 0, 255).astype(np.uint8)


def parse_shade(shade: str) -> np.ndarray:
    """Transmittance (linear RGB, 3 floats in (0, 1]) of a named shade or a hex colour."""
    s = str(shade).strip().lower()
    if s in SHADES:
        s = SHADES[s][1]
    if not re.fullmatch(r"#?[0-9a-f]{6}", s):
        raise BadSetting(
            f"Shade {shade!r} is not known.",
            f"Use one of {', '.join(SHADES)} or a hex colour such as #7a7f88.",
        )
    s = s.lstrip("#")
    rgb = np.array([int(s[i : i + 2], 16) for i in (0, 2, 4)], np.uint8)
    return np.maximum(srgb_to_linear(rgb), 0.02)


@dataclass(frozen=True)
class Look:
    """How the dots look at one moment: strength, size and redness multipliers."""

    absorb: float = 1.0  # multiplier of (1 - T)
    size: float = 1.0
    blur_mm: float = 0.0
    redness: float = 0.0
    scar_fade: float = 1.0


def look_for(text: str) -> Look:
    kind, years = parse_look(text)
    if kind == "fresh":
        return Look(absorb=1.25, size=1.35, blur_mm=0.0, redness=0.10)
    if kind == "healed":
        return Look()
    fade = float(np.exp(-years / 9.0))  # about 40 % lighter after 5 years
    return Look(absorb=fade, size=1.0 + 0.02 * years, blur_mm=0.02 * years, scar_fade=float(np.exp(-years / 6.0)) / fade)


def coverage_map(dots: Dots, bbox: tuple[int, int, int, int], px_per_mm: float, dot_size_mm: float,
                 look: Look, scars: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Fraction (0-1) of each pixel of the box covered by pigment, area-weighted (float32)."""
    y0, y1, x0, x1 = bbox
    h, w = y1 - y0, x1 - x0
    cov = np.zeros((h, w), np.float32)
    if len(dots) == 0 or h == 0 or w == 0:
        return cov
    x = dots.xy[:, 0] - x0 - 0.5
    y = dots.xy[:, 1] - y0 - 0.5
    radius_px = 0.5 * dot_size_mm * look.size * px_per_mm * dots.size
    amp = np.pi * radius_px**2 * dots.strength
    if scars is not None and scars.any():
        ix = np.clip(np.rint(x).astype(np.int64), 0, w - 1)
        iy = np.clip(np.rint(y).astype(np.int64), 0, h - 1)
        on_scar = scars[iy, ix]
        # Scar tissue takes pigment less and less evenly: uptake uniform in [0.4, 1.0] (mean 0.7).
        uneven = np.random.default_rng(seed + 99).uniform(0.4, 1.0, on_scar.sum())
        amp[on_scar] *= uneven * look.scar_fade
    # Bilinear splat of each dot's area: sub-pixel exact, no Python loop per dot.
    fx, fy = np.floor(x), np.floor(y)
    ax, ay = x - fx, y - fy
    ix, iy = fx.astype(np.int64), fy.astype(np.int64)
    for dx, dy, wgt in ((0, 0, (1 - ax) * (1 - ay)), (1, 0, ax * (1 - ay)), (0, 1, (1 - ax) * ay), (1, 1, ax * ay)):
        jx, jy = ix + dx, iy + dy
        ok = (jx >= 0) & (jx < w) & (jy >= 0) & (jy < h)
        cov += np.bincount(jy[ok] * w + jx[ok], weights=(amp * wgt)[ok], minlength=h * w).reshape(h, w).astype(np.float32)
    # Spread each dot's area over a disc-like Gaussian (sigma = r / sqrt(2) keeps a unit peak).
    mean_r = 0.5 * dot_size_mm * look.size * px_per_mm
    sigma = np.hypot(mean_r / np.sqrt(2.0), (SUBSURFACE_BLUR_MM + look.blur_mm) * px_per_mm)
    sigma = max(float(sigma), 0.5)
    core = cv2.GaussianBlur(cov, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    halo_sigma = max(float(np.hypot(sigma, HALO_SIGMA_MM * px_per_mm)), 0.5)
    halo = cv2.GaussianBlur(cov, (0, 0), halo_sigma, borderType=cv2.BORDER_CONSTANT)
    return np.clip(core + HALO_GAIN * halo, 0.0, 1.0)


def render_dots(rgb: np.ndarray, dots: Dots, zone_mask_box: np.ndarray, bbox: tuple[int, int, int, int],
                px_per_mm: float, *, dot_size_mm: float, shade: str, look: str = "healed",
                scars: np.ndarray | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Render ``dots`` into a copy of ``rgb``; only pixels inside ``zone_mask_box`` may change.

    Returns the new image and the boolean mask (box-sized) of pixels that changed.
    """
    lk = look_for(look)
    y0, y1, x0, x1 = bbox
    out = rgb.copy()
    if y1 <= y0 or x1 <= x0:
        return out, np.zeros((max(0, y1 - y0), max(0, x1 - x0)), bool)
    cov = coverage_map(dots, bbox, px_per_mm, dot_size_mm, lk, scars, seed) * zone_mask_box
    absorb = np.clip((1.0 - parse_shade(shade)) * lk.absorb, 0.0, 0.98).astype(np.float32)
    patch = rgb[y0:y1, x0:x1]
    lin = srgb_to_linear(patch)
    factor = 1.0 - cov[..., None] * absorb[None, None, :]
    if lk.redness > 0:
        halo = cv2.GaussianBlur(cov, (0, 0), max(1.0, 0.35 * px_per_mm)) * zone_mask_box
        halo = np.clip(halo * 3.0, 0, 1) * lk.redness
        factor = factor * (1.0 - halo[..., None] * np.array([0.0, 0.6, 0.5], np.float32))
    new = linear_to_srgb_u8(lin * factor)
    touched = cov > 0
    if lk.redness > 0:
        touched |= zone_mask_box & (halo > 0)
    new = np.where(touched[..., None], new, patch)
    out[y0:y1, x0:x1] = new
    return out, touched
