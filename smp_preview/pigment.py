"""Pigment in skin: shades, looks over time, and the rendering of dots into the photo.

Optical model
-------------
SMP pigment is carbon black deposited about 0.3-0.6 mm deep, in the upper dermis, *inside* a
strongly scattering medium. The photo's skin is split into a specular part (light reflected at
the surface, above the pigment: it stays as it is) and a diffuse part (light that entered the
skin). Only the diffuse part is darkened, multiplicatively and in linear light, so the photo's
own shading, skin tone, pores and shine stay. Per channel ``c`` the diffuse part becomes::

    D' = D * [(1 - f_c) + f_c * (1 - cov * a_c) * exp(-G * mu_c * halo)]

- ``cov`` is the area-weighted fraction of the pixel covered by the deposits (the *direct*
  image of the dots, seen by light that left the skin just above a deposit). Each dot is splatted
  as its own kernel (disc of its own jittered diameter, compressed by foreshortening, softened by
  the tissue above it and by the photo's own blur) normalised to its exact area, so a dot far
  smaller than a pixel contributes exactly its area-weighted darkening.
- ``a_c = 1 - T_c`` is the absorptance of one pass through a deposit (``T`` from the shade) and
  ``mu_c = -ln T_c`` its absorbance.
- ``halo`` is the deposit coverage seen by *diffuse* photons: ``cov`` blurred by the lateral
  point-spread function of the dermis (Gaussian, ``DIFFUSION_SIGMA_MM``). In a turbid medium a
  photon that wanders laterally crosses the pigment layer not twice but ``G`` times on average
  (the path-length amplification known from tissue optics as the differential path-length factor,
  and from halftone printing as optical dot gain: the Yule-Nielsen effect, whose physical form is
  the Ruckdeschel-Hauser model ``R = T(x) * (PSF * T)(x)``). Beer-Lambert over those crossings
  gives ``exp(-G mu halo)``. This is why a deposit of 5 % area (0.3 mm dots at 80/cm²) reads as
  a clear grey shadow at portrait scale: integrated over a dot, the darkening is about
  ``area * (a + G mu)``, i.e. 3-4 times its geometric area for a mid shade, not 0.7 times.
- ``f_c`` is the fraction of the remitted light of channel ``c`` that reached the pigment's depth:
  ``exp(-depth / l_c)`` with penetration depths ``l_c`` longer for red than for blue (short
  wavelengths are scattered back above the deposit). Black pigment therefore darkens red more
  than blue: the cool blue-grey of tattoos (the Tyndall look). Epidermal melanin shortens every
  ``l_c`` (less light reaches the dermis, lower contrast) and evens them out (less blue shift on
  dark skin); melanin is taken from the individual typology angle (ITA) of the treated skin.

References: Ruckdeschel & Hauser, Appl. Opt. 17 (1978) 3376 (Yule-Nielsen effect as lateral light
scattering); Anderson & Parrish, J. Invest. Dermatol. 77 (1981) 13 (optics of human skin,
penetration depth by wavelength); Chardon et al., Int. J. Cosmet. Sci. 13 (1991) 191 (ITA).
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import BadSetting
from .settings import parse_look
from .stipple import Dots

# --- shades -------------------------------------------------------------------------------------

ABSORBANCE_UNDILUTED = 11.5
"""Absorbance (-ln T) of one pass through a deposit of undiluted pigment. A dilution of k:1
(water:pigment) has absorbance ``ABSORBANCE_UNDILUTED / (k + 1)``: 10:1 gives T = 0.35."""


# Named dilutions, lightest to darkest: (dilution, transmittance of one deposit as sRGB hex).
# Carbon black is spectrally flat: the named shades are neutral; the cool look comes from the skin.
SHADES = {
    "lightest": ("20:1", "#c8c8c8"),
    "light": ("15:1", "#b9b9b9"),
    "medium": ("10:1", "#a0a0a0"),
    "dark": ("6:1", "#7a7a7a"),
    "darkest": ("3:1", "#434343"),
}
SHADE_ORDER = tuple(SHADES)

# --- optics (see the module docstring) ----------------------------------------------------------

SUBSURFACE_BLUR_MM = 0.05
"""Softness (Gaussian sigma) of a dot's direct image from the epidermis above the deposit."""
DIFFUSION_SIGMA_MM = 0.25
"""Lateral spread (Gaussian sigma) of diffuse light in the papillary dermis."""
PATH_GAIN = 4.0
"""Mean number of times a diffuse photon crosses the pigment layer (``G`` above)."""
DEPOSIT_DEPTH_MM = 0.4
"""Depth of a healed deposit below the skin surface."""
PENETRATION_MM = np.array([1.6, 1.0, 0.75], np.float32)
"""Penetration depth of red, green and blue light into fair skin (order of magnitude from
Anderson & Parrish 1981)."""
BLUR_SPLIT_PX = 1.5
"""From this photo blur (Gaussian sigma, px) on, the photo's blur of the dots is applied as one blur
of the coverage field rather than within each dot's kernel (same result up to the kernel's form,
several times faster on soft or upscaled photos)."""
HALO_SIGMA_MM = DIFFUSION_SIGMA_MM  # former name, kept for callers
HALO_GAIN = PATH_GAIN  # former name, kept for callers

_SRGB_TO_LIN = np.where(
    (v := np.arange(256) / 255.0) <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4
).astype(np.float32)
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


def srgb_to_linear(rgb_u8: np.ndarray) -> np.ndarray:
    return _SRGB_TO_LIN[rgb_u8]


_LUT_N = 1 << 16
_lut_lin = np.arange(_LUT_N + 1, dtype=np.float64) / _LUT_N
_LIN_TO_SRGB = (np.where(_lut_lin <= 0.0031308, _lut_lin * 12.92, 1.055 * _lut_lin ** (1 / 2.4) - 0.055)
                * 255.0).astype(np.float32)
"""sRGB level (0-255, float) of linear values k / 65536: a table, far faster than pow per pixel
(the steepest step, near black, is 0.05 of a level)."""


_LIN_TO_SRGB_U8 = np.rint(_LIN_TO_SRGB).astype(np.uint8)


def linear_to_srgb_u8(lin: np.ndarray) -> np.ndarray:
    return _LIN_TO_SRGB_U8[_lut_index(lin)]


def _linear_to_srgb_float(lin: np.ndarray) -> np.ndarray:
    return _LIN_TO_SRGB[_lut_index(lin)]


def _lut_index(lin: np.ndarray) -> np.ndarray:
    """Table index of linear values: round(clip(lin, 0, 1) * N), in two passes over the data."""
    t = np.multiply(lin, np.float32(_LUT_N), dtype=np.float32)
    np.clip(t, 0.0, np.float32(_LUT_N), out=t)
    t += np.float32(0.5)
    return t.astype(np.int32)


def parse_shade(shade: str) -> np.ndarray:
    """Transmittance (linear RGB, 3 floats in (0, 1]) of one deposit of a named shade or hex colour."""
    s = str(shade).strip().lower()
    if s in SHADES:
        s = SHADES[s][1]
    if not re.fullmatch(r"#?[0-9a-f]{6}", s):
        raise BadSetting(
            f"Shade {shade!r} is not known.",
            f"Use one of {', '.join(SHADES)} (lightest to darkest) or a hex colour such as #7a7f88.",
        )
    s = s.lstrip("#")
    rgb = np.array([int(s[i : i + 2], 16) for i in (0, 2, 4)], np.uint8)
    return np.maximum(srgb_to_linear(rgb), 0.02)


# --- skin measurements --------------------------------------------------------------------------


def ita_deg(rgb_u8: np.ndarray) -> float:
    """Individual typology angle (degrees) of the median colour of ``rgb_u8`` (N, 3) uint8.

    ``ITA = atan((L* - 50) / b*)``: above 55 very light, 41-55 light, 28-41 intermediate,
    10-28 tan, -30-10 brown, below -30 dark (Chardon et al. 1991).
    """
    px = np.asarray(rgb_u8, np.uint8).reshape(-1, 3)
    if len(px) == 0:
        return 40.0
    lab = cv2.cvtColor(px.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).reshape(-1, 3)
    L, b = float(np.median(lab[:, 0])), float(np.median(lab[:, 2]))
    return float(np.degrees(np.arctan2(L - 50.0, max(b, 1e-3))))


def melanin_index(ita: float) -> float:
    """0 for very light skin (ITA 60) to 1 for dark skin (ITA -45), linear in between."""
    return float(np.clip((60.0 - ita) / 105.0, 0.0, 1.0))


def dermal_fraction(ita: float, depth_mm: float = DEPOSIT_DEPTH_MM) -> np.ndarray:
    """Per channel, the share of remitted light that reached the deposit's depth (see module doc)."""
    m = melanin_index(ita)
    pen = PENETRATION_MM * (1.0 - 0.35 * m)
    f = np.exp(-depth_mm / pen)
    f = f.mean() + (f - f.mean()) * (1.0 - 0.6 * m)  # melanin evens out the blue shift
    return (f * (1.0 - 0.45 * m)).astype(np.float32)


def estimate_blur_px(rgb: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Gaussian sigma (pixels) of the photo's own blur, from the slope of its strongest edges.

    A step of contrast C blurred by a Gaussian of sigma s has a largest slope C / (s sqrt(2 pi)).
    The median over the strongest edges (near ``mask`` if given) is returned, clipped to 0.3-4 px.
    """
    h0, w0 = rgb.shape[:2]
    if h0 * w0 > 3_000_000 and mask is None:  # the central half of a large photo is plenty
        dy, dx = int(0.2 * h0), int(0.2 * w0)
        rgb = rgb[dy:h0 - dy, dx:w0 - dx]
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    mag = np.hypot(gx, gy)
    if mask is not None:
        near = cv2.dilate(mask.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
        mag = np.where(near, mag, 0)
    thr = np.percentile(mag[mag > 0], 99.0) if (mag > 0).sum() > 100 else np.inf
    ys, xs = np.nonzero(mag >= max(thr, 8.0))
    if len(ys) < 20:
        return 0.7
    order = np.argsort(-mag[ys, xs])[:400]
    ys, xs = ys[order], xs[order]
    ux, uy = gx[ys, xs] / mag[ys, xs], gy[ys, xs] / mag[ys, xs]
    k = 5.0
    h, w = g.shape

    def sample(t):
        sx = np.clip(xs + ux * t, 0, w - 1).astype(np.float32)
        sy = np.clip(ys + uy * t, 0, h - 1).astype(np.float32)
        return cv2.remap(g, sx[None, :], sy[None, :], cv2.INTER_LINEAR)[0]

    contrast = sample(k) - sample(-k)
    slope = mag[ys, xs]
    sigma = contrast / (slope * np.sqrt(2 * np.pi))
    sigma = sigma[np.isfinite(sigma) & (sigma > 0)]
    if len(sigma) < 10:
        return 0.7
    # the 3x3 Sobel derivative itself flattens the slope of a sharp edge by about 0.45 px
    s = float(np.median(sigma))
    return float(np.clip(np.sqrt(max(s * s - 0.45**2, 0.0)), 0.3, 4.0))


def estimate_noise(rgb_box: np.ndarray, mask: np.ndarray) -> float:
    """Standard deviation of the photo's fine grain (sRGB levels) inside ``mask``, robustly (MAD)."""
    g = cv2.cvtColor(rgb_box, cv2.COLOR_RGB2GRAY).astype(np.float32)
    hp = g - cv2.GaussianBlur(g, (0, 0), 1.0)
    v = hp[mask][::7]  # a subsample is plenty for a robust spread
    if v.size < 50:
        return 0.0
    return float(1.4826 * np.median(np.abs(v - np.median(v))) * 1.25)


def specular_part(lin: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Estimate the specular (surface, colourless) part of linear ``lin`` (H, W, 3) inside ``mask``.

    Dichromatic reflection: a skin pixel is ``d * C + s * (1, 1, 1)`` with ``C`` the skin's
    diffuse chromaticity (taken from the most saturated half of the masked pixels). Red and blue
    give ``s = (p_b C_r - p_r C_b) / (C_r - C_b)``. The zone's 75th percentile of ``s`` (the chroma
    spread of ordinary diffuse skin, which varies with redness) is subtracted so only real shine
    counts: conservative, as a missed highlight costs less than dots vanishing from plain skin. Returns (H, W) float32 >= 0.
    """
    out = np.zeros(lin.shape[:2], np.float32)
    if mask.sum() < 20:
        return out
    px = lin[mask][::7]  # statistics from a subsample
    tot = px.sum(axis=1) + 1e-6
    chroma = px / tot[:, None]
    sat = chroma[:, 0] - chroma[:, 2]
    C = np.median(chroma[sat >= np.median(sat)], axis=0)
    if C[0] - C[2] < 0.05:  # near-grey skin: shine cannot be told from skin by colour
        return out
    s = (lin[..., 2] * C[0] - lin[..., 0] * C[2]) / (C[0] - C[2])
    s = cv2.GaussianBlur(s.astype(np.float32), (0, 0), 1.0)
    s = s - float(np.percentile(s[mask][::7], 75))
    lo = np.minimum(np.minimum(lin[..., 0], lin[..., 1]), lin[..., 2])  # faster than min(axis=2)
    return np.clip(s, 0.0, lo * 0.95).astype(np.float32)


# --- looks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Look:
    """How the dots look at one moment: multipliers of strength, size, softness, and redness."""

    absorb: float = 1.0  # multiplier of the deposit's absorbance
    size: float = 1.0
    blur_mm: float = 0.0  # extra softness (pigment spreading with the years)
    redness: float = 0.0  # erythema around fresh dots
    scar_fade: float = 1.0  # extra fading of dots on scar tissue
    depth_mm: float = DEPOSIT_DEPTH_MM


def look_for(text: str) -> Look:
    """``fresh``: darker, 35 % larger, crisp, shallow (scabs) with some redness for a few days.
    ``healed``: the reference. ``years:N``: absorbance falls as exp(-N / 9 years) (about 40 %
    lighter after 5 years), dots soften by 0.02 mm a year, scar dots fade with a 6-year constant."""
    kind, years = parse_look(text)
    if kind == "fresh":
        return Look(absorb=1.2, size=1.2, blur_mm=-0.03, redness=0.15, depth_mm=0.25)
    if kind == "healed":
        return Look()
    fade = float(np.exp(-years / 9.0))
    return Look(absorb=fade, size=1.0 + 0.02 * years, blur_mm=0.02 * years,
                scar_fade=float(np.exp(-years / 6.0)) / fade)


# --- geometry -----------------------------------------------------------------------------------


def foreshortening(xy: np.ndarray, head_ellipse) -> tuple[np.ndarray, np.ndarray]:
    """Per dot: compression ``q`` (1 facing the camera, -> 0 at the skull's outline) and the unit
    image direction (N, 2) along which the surface turns away (radial from the head's centre).

    The skull is taken as an ellipsoid whose outline is ``head_ellipse`` = ((cx, cy), (w, h), angle)
    as from `cv2.fitEllipse`: at normalised radius rho the surface normal leans by acos(sqrt(1-rho²)).
    """
    (cx, cy), (ew, eh), ang = head_ellipse
    t = np.deg2rad(ang)
    ct, st = np.cos(t), np.sin(t)
    dx, dy = xy[:, 0] - cx, xy[:, 1] - cy
    u = (dx * ct + dy * st) / max(ew / 2, 1e-3)
    v = (-dx * st + dy * ct) / max(eh / 2, 1e-3)
    rho2 = u * u + v * v
    q = np.sqrt(np.clip(1.0 - rho2, 0.0, 1.0)).clip(0.3, 1.0)
    # radial direction in image space: gradient of rho² mapped back
    gu, gv = u / max(ew / 2, 1e-3), v / max(eh / 2, 1e-3)
    gx, gy = gu * ct - gv * st, gu * st + gv * ct
    n = np.hypot(gx, gy) + 1e-9
    return q.astype(np.float32), np.stack([gx / n, gy / n], axis=1).astype(np.float32)


def head_ellipse_of(analysis) -> tuple | None:
    """Ellipse ((cx, cy), (w, h), angle) of the skull outline in ``analysis``, or None.

    Fitted to the outline of the head (head mask, scalp, hair and skin labels) above the eyes; a
    ``skull_ellipse`` attribute on the face or the analysis, when present, wins.
    """
    for obj in (analysis, getattr(analysis, "face", None), getattr(analysis, "segmentation", None)):
        e = getattr(obj, "skull_ellipse", None)
        if e is not None:
            return e
    face = getattr(analysis, "face", None)
    seg = analysis.segmentation
    head = seg.head_mask | np.isin(seg.labels, (1, 2, 3))
    if face is not None:
        eye_y = float(max(face.eye_corners[0][1], face.eye_corners[1][1]))
    else:
        ys = np.flatnonzero(head.any(axis=1))
        if ys.size == 0:
            return None
        eye_y = ys[0] + 0.6 * (ys[-1] - ys[0])
    contours, _ = cv2.findContours(head.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    c = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float32)
    c = c[c[:, 1] < eye_y]
    if len(c) < 20:
        return None
    # Only the top of the outline is seen: the fit gives the centre's height (kept between a third
    # of the width below the crown and eye level); the outline's extent gives width and crown.
    (_, cy), _, _ = cv2.fitEllipse(c)
    width = float(np.ptp(c[:, 0]))
    top = float(c[:, 1].min())
    cy = max(min(cy, eye_y), top + 0.3 * width)
    cx = float(np.median(c[:, 0])) if face is None else float(face.eye_corners[0][0] + face.eye_corners[1][0]) / 2
    return ((cx, float(cy)), (width, 2.0 * (cy - top)), 0.0)


def floor_of(analysis) -> np.ndarray | None:
    """Linear RGB of the darkest hair or brow in the photo (the 5th luminance percentile of hair
    pixels and of the darker half of the brows): SMP dots must not be darker than that."""
    rgb = analysis.rgb
    parts = []
    hair = analysis.segmentation.labels == 3
    if hair.sum() > 50:
        parts.append(rgb[hair])
    face = getattr(analysis, "face", None)
    if face is not None:
        from .face import BROW_LEFT, BROW_RIGHT

        m = np.zeros(rgb.shape[:2], np.uint8)
        for idx in (BROW_LEFT, BROW_RIGHT):
            pts = face.landmarks_px[list(idx), :2]
            cv2.fillPoly(m, [cv2.convexHull(np.round(pts).astype(np.int32))], 1)
        b = rgb[m.astype(bool)]
        if len(b) > 10:
            y = srgb_to_linear(b) @ _LUMA
            parts.append(b[y <= np.percentile(y, 25)])
    if not parts:
        return None
    px = srgb_to_linear(np.concatenate(parts))
    y = px @ _LUMA
    k = max(1, int(0.05 * len(y)))
    return px[np.argsort(y)[:k]].mean(axis=0).astype(np.float32)


# --- rendering ----------------------------------------------------------------------------------


def _splat_kernels(cov: np.ndarray, x: np.ndarray, y: np.ndarray, r: np.ndarray, q: np.ndarray,
                   radial: np.ndarray, sigma: np.ndarray, amp: np.ndarray, *, gaussian: bool = False) -> None:
    """Add, in place, one kernel per dot to ``cov`` (H, W), each normalised to sum to ``amp``.

    Disc (default): radius r[i] px across, r[i]*q[i] along ``radial[i]`` (the direction in which
    the surface turns away), its edge softened by a Gaussian of sigma[i] px. ``gaussian``: an
    elliptical Gaussian of sigma r[i] across and r[i]*q[i] along, widened by sigma[i].
    Vectorised over dots (no Python loop per dot); chunks bound the memory.
    """
    h, w = cov.shape
    if len(x) == 0:
        return
    half = int(np.ceil(float(np.max((3.0 if gaussian else 1.0) * r + 2.5 * sigma))))
    off = np.arange(-half, half + 1)
    oy, ox = [a.ravel().astype(np.float32) for a in np.meshgrid(off, off, indexing="ij")]
    m = len(ox)
    chunk = max(1, 4_000_000 // m)
    # Splat into a copy of ``cov`` padded by the kernel's reach: no bounds test per kernel pixel
    # (pixels in the pad are dropped with it, as out-of-box pixels were), flat indices by addition.
    P = half + 2
    wp, hp = w + 2 * P, h + 2 * P
    pad = np.zeros((hp, wp), np.float32)
    pad[P:P + h, P:P + w] = cov
    flat = pad.ravel()
    koff = (oy.astype(np.int64) * wp + ox.astype(np.int64))[None, :]
    for s in range(0, len(x), chunk):
        sl = slice(s, s + chunk)
        cx, cy = x[sl], y[sl]
        bx, by = np.rint(cx), np.rint(cy)
        # (b + o) - c rounds the same exact value as (b - c) + o (b - c is exact): same as before
        dx = (bx - cx)[:, None] + ox[None, :]
        dy = (by - cy)[:, None] + oy[None, :]
        nx, ny = radial[sl, 0:1], radial[sl, 1:2]
        along = dx * nx
        along += dy * ny
        across = dy * nx
        across -= dx * ny
        del dx, dy
        qq, rr, sg = q[sl, None], r[sl, None], sigma[sl, None]
        if gaussian:
            va = rr**2 + sg**2
            vl = (rr * qq) ** 2 + sg**2
            val = np.exp(-0.5 * (across**2 / va + along**2 / vl))
        else:
            # distance to the ellipse's edge in pixels: circle-space distance d, scaled by the
            # local pixels-per-circle-unit |p| / d (q along the radial direction, 1 across)
            a2 = across**2
            d = np.sqrt(a2 + (along / qq) ** 2)
            p = np.sqrt(a2 + along**2)
            del a2, along, across
            edge = (d - rr) * np.where(d > 1e-6, p / np.maximum(d, 1e-6), 1.0)
            del d, p
            # disc edge convolved with a Gaussian: 0.5 erfc(e / (sqrt 2 sigma)), in its logistic
            # form (one exp; within 0.01 of the normal CDF)
            edge *= 1.702
            edge /= sg
            np.clip(edge, -30.0, 30.0, out=edge)
            np.exp(edge, out=edge)
            edge += 1.0
            val = np.divide(1.0, edge, out=edge)
        val /= val.sum(axis=1, keepdims=True) + 1e-12
        val *= amp[sl, None]
        base = (by.astype(np.int64) + P) * wp + (bx.astype(np.int64) + P)
        idx = base[:, None] + koff
        ok = val > 1e-6
        inside = (bx >= -P + half) & (bx < w + P - half) & (by >= -P + half) & (by < h + P - half)
        if not inside.all():  # a kernel reaching past the pad (a dot far outside the box)
            px, py = bx[:, None] + ox[None, :], by[:, None] + oy[None, :]
            ok &= (px >= 0) & (px < w) & (py >= 0) & (py < h)
        flat += np.bincount(idx[ok], weights=val[ok], minlength=hp * wp).astype(np.float32)
    cov[:] = pad[P:P + h, P:P + w]


@dataclass(frozen=True, eq=False)
class DotFields:
    """What the dots do to a box of the photo: direct coverage and diffuse (halo) coverage."""

    cov: np.ndarray  # area-weighted coverage, 0-1
    halo: np.ndarray  # coverage seen by diffuse light (cov blurred by the dermal PSF)


def coverage_map(dots: Dots, bbox: tuple[int, int, int, int], px_per_mm: float, dot_size_mm: float,
                 look: Look, scars: np.ndarray | None = None, seed: int = 0, *, session_darkening: float = 0.0,
                 head_ellipse=None, photo_blur_px: float = 0.5) -> DotFields:
    """Area-weighted pigment coverage of each pixel of the box and its diffuse spread (float32)."""
    y0, y1, x0, x1 = bbox
    h, w = y1 - y0, x1 - x0
    z = np.zeros((h, w), np.float32)
    if len(dots) == 0 or h == 0 or w == 0:
        return DotFields(z, z.copy())
    # pixel centres sit at integer + 0.5 in the dots' continuous coordinates
    x = (dots.xy[:, 0] - x0 - 0.5).astype(np.float32)
    y = (dots.xy[:, 1] - y0 - 0.5).astype(np.float32)
    r = (0.5 * dot_size_mm * look.size * px_per_mm * dots.size).astype(np.float32)
    strength = dots.strength.astype(np.float32) * (1.0 + session_darkening * (dots.session.astype(np.float32) - 1))
    if scars is not None and scars.any():
        ix = np.clip(np.rint(x).astype(np.int64), 0, w - 1)
        iy = np.clip(np.rint(y).astype(np.int64), 0, h - 1)
        on_scar = scars[iy, ix]
        # Scar tissue takes pigment less and less evenly: uptake uniform in [0.4, 1.0] (mean 0.7).
        uneven = np.random.default_rng(seed + 99).uniform(0.4, 1.0, on_scar.sum()).astype(np.float32)
        strength[on_scar] *= uneven * look.scar_fade
    if head_ellipse is not None:
        q, radial = foreshortening(dots.xy, head_ellipse)
    else:
        q = np.ones(len(x), np.float32)
        radial = np.tile(np.array([[1.0, 0.0]], np.float32), (len(x), 1))
    soft_mm = max(SUBSURFACE_BLUR_MM + look.blur_mm, 0.0)
    # A soft photo (upscaled, out of focus: blur >= BLUR_SPLIT_PX) blurs every dot alike: that part
    # is one Gaussian blur of the splatted coverage instead of a kernel several times wider per dot
    # (the splat's cost grows with the kernel's area). Sharper photos keep the one-kernel form.
    post = float(photo_blur_px) if photo_blur_px >= BLUR_SPLIT_PX else 0.0
    pre_px = photo_blur_px if post == 0.0 else 0.0
    sigma = np.sqrt((soft_mm * px_per_mm) ** 2 + pre_px**2 + 0.25**2 + (0.15 * r) ** 2)
    sigma = np.maximum(sigma, 0.5).astype(np.float32)
    # A foreshortened dot is narrower but keeps its integrated darkening: the zones give density per
    # image area, so pigment per image area (the tone at portrait scale) must not change with q.
    amp = (np.pi * r * r * strength).astype(np.float32)
    cov = z.copy()
    _splat_kernels(cov, x, y, r, q, radial, sigma, amp)
    if post > 0.0:
        cov = cv2.GaussianBlur(cov, (0, 0), post, borderType=cv2.BORDER_CONSTANT)
    halo = _diffuse(x, y, amp, q, radial, (h, w), DIFFUSION_SIGMA_MM * px_per_mm, photo_blur_px)
    return DotFields(np.clip(cov, 0.0, 1.0), halo)


def _diffuse(x: np.ndarray, y: np.ndarray, amp: np.ndarray, q: np.ndarray, radial: np.ndarray,
             shape: tuple[int, int], sigma_px: float, blur_px: float) -> np.ndarray:
    """The dots' pigment (``amp`` px² each at pixel-centre coordinates x, y) spread by the dermal
    PSF (Gaussian ``sigma_px``) and the photo's blur. Dots facing the camera: bilinear splat
    (sub-pixel exact) and one Gaussian blur; foreshortened ones (q < 0.9): their own elliptical
    PSF. The field is smooth, so on close-ups it is computed on a grid f times coarser (f chosen
    to keep the PSF at least 1.5 coarse pixels wide) and interpolated back."""
    h, w = shape
    total = float(np.hypot(sigma_px, blur_px))
    f = max(1, int(total / 1.5))
    hc, wc = -(-h // f), -(-w // f)
    xc, yc = (x + 0.5) / f - 0.5, (y + 0.5) / f - 0.5
    acc = np.zeros((hc, wc), np.float32)
    tilted = q < 0.9
    if tilted.any():
        sd = np.full(int(tilted.sum()), sigma_px / f, np.float32)
        sg = max(blur_px / f, 0.5)
        if blur_px >= BLUR_SPLIT_PX:  # as in coverage_map: the photo's blur once, for all dots
            _splat_kernels(acc, xc[tilted], yc[tilted], sd, q[tilted], radial[tilted],
                           np.full_like(sd, 0.5), amp[tilted], gaussian=True)
            acc = cv2.GaussianBlur(acc, (0, 0), float(np.sqrt(sg * sg - 0.25)), borderType=cv2.BORDER_CONSTANT)
        else:
            _splat_kernels(acc, xc[tilted], yc[tilted], sd, q[tilted], radial[tilted],
                           np.full_like(sd, sg), amp[tilted], gaussian=True)
    flat = np.zeros((hc, wc), np.float32)
    keep = ~tilted
    xk, yk, ak = xc[keep], yc[keep], amp[keep]
    fx, fy = np.floor(xk), np.floor(yk)
    ax, ay = xk - fx, yk - fy
    ixf, iyf = fx.astype(np.int64), fy.astype(np.int64)
    for dx, dy, wgt in ((0, 0, (1 - ax) * (1 - ay)), (1, 0, ax * (1 - ay)), (0, 1, (1 - ax) * ay), (1, 1, ax * ay)):
        jx, jy = ixf + dx, iyf + dy
        ok = (jx >= 0) & (jx < wc) & (jy >= 0) & (jy < hc)
        flat += np.bincount(jy[ok] * wc + jx[ok], weights=(ak * wgt)[ok], minlength=hc * wc).reshape(hc, wc).astype(
            np.float32)
    acc += cv2.GaussianBlur(flat, (0, 0), max(total / f, 0.5), borderType=cv2.BORDER_CONSTANT)
    if f == 1:
        return acc
    fine = cv2.resize(acc, (wc * f, hc * f), interpolation=cv2.INTER_LINEAR)[:h, :w]
    return fine / float(f * f)


_CACHE: dict = {}


_CACHE_LOCK = threading.Lock()


def _cached(key, rgb: np.ndarray, compute):
    """Per-photo measurements (blur, grain) survive slider changes: keyed by the photo array itself.

    The entry holds a weak reference to the array and counts only while it is the very same
    object: a new photo that happens to reuse the freed buffer's address never sees a stale value.
    """
    k = (key, id(rgb))
    with _CACHE_LOCK:
        hit = _CACHE.get(k)
    if hit is not None and hit[0]() is rgb:
        return hit[1]
    value = compute()
    with _CACHE_LOCK:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[k] = (weakref.ref(rgb), value)
    return value


_BOX_CACHE: dict = {}
_BOX_LOCK = threading.Lock()
"""Per (photo box, zone): the zone's pixels gathered once (indices, linear colour, luma, specular
part, grain draws) for the last two renders' boxes: a slider change re-renders the same box."""


def _box_entry(patch: np.ndarray, zone: np.ndarray, bbox, width: int) -> dict:
    """The cache entry of this box's content and zone (keyed by their full content)."""
    k = (bbox, width, patch.shape, hash(patch.tobytes()), hash(np.packbits(zone).tobytes()))
    with _BOX_LOCK:  # batch renders in threads
        e = _BOX_CACHE.get(k)
        if e is None:
            if len(_BOX_CACHE) >= 2:
                _BOX_CACHE.pop(next(iter(_BOX_CACHE)))
            zf = np.flatnonzero(zone)
            y0, _, x0, _ = bbox
            e = _BOX_CACHE[k] = {"zf": zf, "of": (zf // zone.shape[1] + y0) * width + (zf % zone.shape[1] + x0)}
    return e


def _from(e: dict, key, compute):
    if key not in e:
        e[key] = compute()
    return e[key]


def render_dots(rgb: np.ndarray, dots: Dots, zone_mask_box: np.ndarray, bbox: tuple[int, int, int, int],
                px_per_mm: float, *, dot_size_mm: float, shade: str, look: str = "healed",
                scars: np.ndarray | None = None, seed: int = 0, session_darkening: float = 0.0,
                head_ellipse=None, floor_rgb: np.ndarray | None = None, photo_blur_px: float | None = None,
                match_grain: bool = True, keep_specular: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Render ``dots`` into a copy of ``rgb`` (uint8 RGB); only pixels inside ``zone_mask_box`` change.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 photo.
    dots : the dots to draw, in image pixels.
    zone_mask_box : (y1-y0, x1-x0) bool, where pixels may change.
    bbox : (y0, y1, x0, x1) box of the photo the mask covers.
    px_per_mm : scale of the photo.
    dot_size_mm : healed dot diameter.
    shade : named dilution or hex colour (see `parse_shade`).
    look : fresh, healed or years:N.
    scars : bool mask of the box: scar tissue (uneven, faster fading uptake).
    session_darkening : each later session's dots are this much stronger (0.1: +10 % per session).
    head_ellipse : skull outline ((cx, cy), (w, h), angle) for foreshortening; None for none.
    floor_rgb : linear RGB of the darkest hair or brow: no pixel's luminance is darkened below it.
    photo_blur_px : the photo's own blur (Gaussian sigma, px); None estimates it from the photo.
    match_grain : restore the photo's grain where darkening reduced it.
    keep_specular : darken only the diffuse part of the skin (shine stays on top).

    Returns the new image and the boolean mask (box-sized) of pixels that changed.
    """
    lk = look_for(look)
    y0, y1, x0, x1 = bbox
    out = rgb.copy()
    if y1 <= y0 or x1 <= x0 or len(dots) == 0:
        return out, np.zeros((max(0, y1 - y0), max(0, x1 - x0)), bool)
    zone = zone_mask_box.astype(bool)
    patch = rgb[y0:y1, x0:x1]
    if photo_blur_px is None:
        # from the whole photo's strongest edges (eyes, brows, clothes: in focus with the head);
        # the head's own silhouette is a poor edge (its shading rolls off toward the outline)
        photo_blur_px = _cached(("blur",), rgb, lambda: estimate_blur_px(rgb))
    fields = coverage_map(dots, bbox, px_per_mm, dot_size_mm, lk, scars, seed, session_darkening=session_darkening,
                          head_ellipse=head_ellipse, photo_blur_px=photo_blur_px)
    cov, halo = fields.cov, fields.halo
    # Only the zone's pixels can change: every step below is per pixel, so it runs on the zone's
    # pixels alone (gathered once per box and zone, kept while sliders move the dots).
    e = _box_entry(patch, zone, bbox, rgb.shape[1])
    zf = e["zf"]
    lin_box = []  # the whole box in linear light, only computed when something below needs it

    def lin_full():
        if not lin_box:
            lin_box.append(srgb_to_linear(patch))
        return lin_box[0]

    t = np.clip(parse_shade(shade), 1e-3, 1.0)
    mu = -np.log(t) * lk.absorb  # absorbance per pass, scaled by the look
    a = 1.0 - np.exp(-mu)
    f = dermal_fraction(_from(e, "ita", lambda: ita_deg(patch[zone][::7]) if zf.size else 40.0), lk.depth_mm)
    direct = 1.0 - cov.reshape(-1)[zf][:, None] * a[None, :]
    diffuse = np.exp(-PATH_GAIN * halo.reshape(-1)[zf][:, None] * mu[None, :])
    factor = (1.0 - f) + f * direct * diffuse
    if lk.redness > 0:
        red = cv2.GaussianBlur(halo, (0, 0), max(1.0, 0.6 * px_per_mm)).reshape(-1)[zf]
        red = np.clip(red * 4.0, 0.0, 1.0) * lk.redness
        factor = factor * (1.0 - red[:, None] * np.array([0.0, 0.5, 0.4], np.float32))
    lin_z = _from(e, "lin", lambda: lin_full().reshape(-1, 3)[zf])
    if keep_specular:  # depends on the photo and the zone only
        spec = _from(e, "spec", lambda: specular_part(lin_full(), zone).reshape(-1)[zf])
    else:
        spec = np.zeros(len(zf), np.float32)
    diff = lin_z - spec[:, None]
    new = diff * factor + spec[:, None]
    lin_luma = _from(e, "luma", lambda: (lin_full() @ _LUMA).reshape(-1)[zf])
    if match_grain:
        sd = _cached(("noise", bbox, hash(np.packbits(zone).tobytes())), rgb, lambda: estimate_noise(patch, zone))
        if sd > 0:
            # darkening scales the photo's grain down; add back what was lost (luma grain)
            loss = np.sqrt(np.clip(1.0 - (new @ _LUMA / np.maximum(lin_luma, 1e-6)) ** 2, 0.0, 1.0))
            # the same draws as over the whole box, so a pixel's grain does not depend on the zone
            n = _from(e, ("grain", seed), lambda: np.random.default_rng(seed + 7).standard_normal(
                zone.shape).astype(np.float32).reshape(-1)[zf])
            new_s = _linear_to_srgb_float(new) + (sd * loss * n)[:, None]
            new = srgb_to_linear(np.clip(np.rint(new_s), 0, 255).astype(np.uint8))
    if floor_rgb is not None:
        yf = float(np.asarray(floor_rgb, np.float32) @ _LUMA) * 1.01
        yn, yo = new @ _LUMA, lin_luma
        # move back toward the original just enough that no pixel falls below the floor
        back = np.clip((yf - yn) / np.maximum(yo - yn, 1e-6), 0.0, 1.0)
        new = new + np.where(yo > yn, back, 0.0)[:, None] * (lin_z - new)
    new_u8 = linear_to_srgb_u8(new)
    flat_out = out.reshape(-1, 3)
    old_u8 = flat_out[e["of"]]
    touched = np.zeros(zone.shape, bool)
    touched.reshape(-1)[zf] = (new_u8[:, 0] != old_u8[:, 0]) | (new_u8[:, 1] != old_u8[:, 1]) | (new_u8[:, 2] != old_u8[:, 2])
    flat_out[e["of"]] = new_u8
    return out, touched


# --- shade suggestion ---------------------------------------------------------------------------


def _lab_median(rgb_u8: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(rgb_u8.reshape(-1, 1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).reshape(-1, 3)
    return np.median(lab, axis=0)


def _face_skin_pixels(analysis) -> np.ndarray:
    from .segment import _CHEEK_LEFT, _CHEEK_RIGHT, _FOREHEAD

    face = analysis.face
    m = np.zeros(analysis.rgb.shape[:2], np.uint8)
    for idx in (_CHEEK_LEFT, _CHEEK_RIGHT, _FOREHEAD):
        pts = face.landmarks_px[list(idx), :2]
        cv2.fillPoly(m, [cv2.convexHull(np.round(pts).astype(np.int32))], 1)
    return analysis.rgb[m.astype(bool)]


def _brow_and_hair_lightness(analysis) -> float | None:
    """L* of the brows and remaining hair: the darkest quarter of the brow region (the hairs, not
    the skin between them) and the darker half of the hair pixels (the label can include some
    skin), weighted 0.6 / 0.4; either alone if only one shows; None if neither does."""
    from .face import BROW_LEFT, BROW_RIGHT

    brow = hair = None
    if analysis.face is not None:
        m = np.zeros(analysis.rgb.shape[:2], np.uint8)
        for idx in (BROW_LEFT, BROW_RIGHT):
            pts = analysis.face.landmarks_px[list(idx), :2]
            cv2.fillPoly(m, [cv2.convexHull(np.round(pts).astype(np.int32))], 1)
        b = analysis.rgb[m.astype(bool)]
        if len(b) > 10:
            y = b.astype(np.float32) @ _LUMA
            brow = float(_lab_median(b[y <= np.percentile(y, 25)])[0])
    mask = analysis.segmentation.labels == 3
    if mask.sum() > 100:
        px = analysis.rgb[mask]
        y = px.astype(np.float32) @ _LUMA
        hair = float(_lab_median(px[y <= np.median(y)])[0])
    if brow is None or hair is None:
        return brow if hair is None else hair
    return 0.6 * brow + 0.4 * hair


def suggest_shade(analysis) -> tuple[str, str]:
    """A named shade for the person in ``analysis`` and the reason, in words.

    Skin tone by the individual typology angle of the face skin (cheeks and forehead): lighter
    shades on fair skin, darker on dark skin (domain.md). Then the brows and remaining hair: light
    (blond, white, grey; L* above 55) moves one step lighter, because dark SMP beside light brows
    looks artificial; dark hair on light skin (L* below 30) allows one step darker.
    """
    if analysis.face is not None:
        skin = _face_skin_pixels(analysis)
    else:
        skin = analysis.rgb[analysis.segmentation.labels == 2]
    ita = ita_deg(skin)
    if ita > 55:
        i, tone = 1, "very light"
    elif ita > 41:
        i, tone = 1, "light"
    elif ita > 28:
        i, tone = 2, "intermediate"
    elif ita > 10:
        i, tone = 3, "tan"
    elif ita > -30:
        i, tone = 3, "brown"
    else:
        i, tone = 4, "dark"
    reason = f"{tone} skin (ITA {ita:.0f}°)"
    hl = _brow_and_hair_lightness(analysis)
    if hl is not None:
        if hl > 55:
            i -= 1
            reason += f"; light brows/hair (L* {hl:.0f}) call for one step lighter"
        elif hl < 30 and i < 3:
            i += 1
            reason += f"; dark brows/hair (L* {hl:.0f}) allow one step darker"
        else:
            reason += f"; brows/hair L* {hl:.0f}"
    name = SHADE_ORDER[int(np.clip(i, 0, len(SHADE_ORDER) - 1))]
    return name, f"{name} ({SHADES[name][0]}): {reason}"
