"""Treatment zones: from the label map, the hairline and the mode to a density field.

The density field is in dots per cm², over a bounding box of the photo. Dots may only go on
scalp skin (label 2) or, with the shaved look, on former head hair inside the skull outline; never
below the hairline on the face, never below the brow guard (brows, eyes, ears), never on the
background, clothes or hats. Modes:

- ``full``: the whole scalp behind the hairline (bald and balding clients; the shaved look).
- ``thinning``: the client keeps the hair; dots go on the scalp that shows through it, more
  where there is more hair around (hair coverage), none on hair pixels.
- ``hairline``: a band of `HAIRLINE_ONLY_DEPTH_MM` behind the hairline.
- ``scars``: only the scars and a margin of `SCAR_MARGIN_MM` around them.

Scars (in any mode) get dots over the scar plus the margin; `Zones.scars` marks the scar tissue
itself so that the pigment stage gives it the reduced, uneven uptake of scar tissue.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import cv2
import numpy as np

from .analysis import HeadAnalysis
from .errors import BadSetting
from .hairline import (
    Hairline,
    HeadModel,
    SkullOutline,
    custom_hairline,
    face_frame,
    fit_head_model,
    fit_skull,
    hairline_height_mm,  # noqa: F401  (re-exported: other modules import it from here)
    projected_height_mm,  # noqa: F401
    template_hairline,
)
from .segment import BACKGROUND, HAIR, SCALP
from .settings import Settings

STYLE_BAND_MM = {"defined": 0.6, "soft": 3.0, "faded": 8.0}
"""Width of the ramp from no dots to full density behind the hairline, mm (image plane)."""
SOFT_LEAD_MM = 3.0
"""Depth of the band of scattered single dots ahead of a soft hairline, mm."""
SOFT_LEAD_SHARE = 0.14
"""Mean density of that band as a share of the target."""
FADED_START = 0.25
"""Share of the target density at the very edge of a faded hairline."""
SCAR_MARGIN_MM = 2.0
HAIRLINE_ONLY_DEPTH_MM = 30.0
BROW_GUARD_MM = 12.0
"""Nothing below this height above the glabella (image plane): brows, eyes, ears stay untouched."""
OUTLINE_GUARD_PX = 1.0
"""Scalp pixels this close to the background (the anti-aliased head outline) get no dots."""
IRREGULARITY_MM = {"soft": 1.2, "faded": 1.0, "defined": 0.5}
"""Amplitude of the hairline's micro-irregularity per style, mm."""


@dataclass(frozen=True, eq=False)
class Zones:
    """Target density in dots/cm² over a bounding box of the photo.

    ``density`` is float32 of shape (y1-y0, x1-x0); zero means untouched. ``full`` marks the
    pixels where the density is at its full target (not in a feathered edge).
    ``scars`` marks scar tissue (reduced, uneven uptake); ``hairline_px`` the designed line
    (for drawing); ``shave`` the shaved-look plan (None without it), ``hairline`` the design
    in the face frame and ``head`` the head model it was projected through.
    """

    density: np.ndarray
    bbox: tuple[int, int, int, int]  # y0, y1, x0, x1
    full: np.ndarray
    scars: np.ndarray  # bool, same box: scar tissue (reduced pigment uptake)
    hairline_px: np.ndarray  # (N, 2) image points of the designed hairline, for drawing
    shave: object | None = None  # shave.ShavePlan
    hairline: Hairline | None = None
    head: HeadModel | None = None
    skull: SkullOutline | None = None

    @property
    def mask(self) -> np.ndarray:
        return self.density > 0

    def full_mask(self, shape: tuple[int, int]) -> np.ndarray:
        """The treated zone as a full-size boolean mask."""
        out = np.zeros(shape, bool)
        y0, y1, x0, x1 = self.bbox
        out[y0:y1, x0:x1] = self.mask
        return out

    def density_full(self, shape: tuple[int, int]) -> np.ndarray:
        """The density field as a full-size float32 array."""
        out = np.zeros(shape, np.float32)
        y0, y1, x0, x1 = self.bbox
        out[y0:y1, x0:x1] = self.density
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


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per-analysis design geometry that no setting changes (skull, head model, guards, shave plan)."""


def _geometry(analysis: HeadAnalysis) -> dict:
    geo = _CACHE.get(analysis)
    if geo is None:
        labels, face, s = analysis.labels, analysis.face, analysis.px_per_mm
        from .shave import within

        # The outermost pixel of the head outline is part backdrop: no dot there.
        geo = {"scalp": (labels == SCALP) & ~within(labels == BACKGROUND, OUTLINE_GUARD_PX)}
        if face is not None:
            geo["skull"] = fit_skull(labels, face, s)
            geo["head"] = fit_head_model(labels, face, s, geo["skull"])
            # The brow guard: nothing at or below brow level in the face's frame.
            _, v = face_frame(face, labels.shape, s)
            geo["above_brows"] = v > BROW_GUARD_MM
            geo["scalp"] &= geo["above_brows"]
        _CACHE[analysis] = geo
    return geo


def _shave_plan(analysis: HeadAnalysis):
    geo = _geometry(analysis)
    if "shave" not in geo:
        from .shave import plan_shave

        geo["shave"] = plan_shave(analysis.labels, analysis.face, analysis.px_per_mm, geo["skull"], analysis.rgb)
    return geo["shave"]


def design_hairline(analysis: HeadAnalysis, settings: Settings, *, skull: SkullOutline | None = None,
                    head: HeadModel | None = None) -> Hairline | None:
    """The hairline for ``settings`` on the photo: custom points if given, else the template.

    None when the photo has no face and no custom points (the whole scalp is then treated).
    """
    s = analysis.px_per_mm
    irregular = IRREGULARITY_MM[settings.hairline_style]
    if settings.hairline_points:
        return custom_hairline(np.asarray(settings.hairline_points, np.float64), analysis.face, s,
                               irregularity_mm=0.5 * irregular, seed=settings.seed)
    if analysis.face is None:
        return None
    if head is None:
        head = fit_head_model(analysis.labels, analysis.face, s, skull)
    return template_hairline(analysis.face, s, head, template=settings.hairline,
                             midpoint_mm=settings.hairline_height_mm, widows_peak=settings.widows_peak,
                             receded_temples=settings.receded_temples, irregularity_mm=irregular,
                             seed=settings.seed)


_NOISE_CACHE: dict = {}
_NOISE_LOCK = threading.Lock()
"""The last few edge-noise fields by (generator state, shape, sigma): a slider that does not move
the zone's box (density, shade, dot size) reuses the field instead of blurring it again."""


def _edge_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Blurred uniform noise of ``shape`` normalised to mean 0, sd 1 (``rng`` advances as if drawn)."""
    st = rng.bit_generator.state
    key = (repr(st), tuple(shape), float(sigma))
    hit = _NOISE_CACHE.get(key)
    if hit is None:
        noise = cv2.GaussianBlur(rng.random(shape, dtype=np.float32), (0, 0), sigma)
        noise = (noise - noise.mean()) / (noise.std() + 1e-6)
        with _NOISE_LOCK:  # batch renders in threads
            if len(_NOISE_CACHE) >= 3:
                _NOISE_CACHE.pop(next(iter(_NOISE_CACHE)), None)
            hit = _NOISE_CACHE[key] = (noise, rng.bit_generator.state)
    rng.bit_generator.state = hit[1]
    return hit[0]


def _edge_ramp(dist_mm: np.ndarray, style: str, px_per_mm: float, rng: np.random.Generator) -> np.ndarray:
    """Share of the target density (0-1) at ``dist_mm`` above the hairline (negative: ahead of it)."""
    band = STYLE_BAND_MM[style]
    if style == "soft":
        ramp = np.clip(dist_mm / band, 0, 1)
        # A broken edge: the ramp itself is uneven along the line, and single dots lead ahead.
        noise = _edge_noise(rng, dist_mm.shape, max(1.0, 1.5 * px_per_mm))
        ramp = np.clip(ramp * (1.0 + 0.35 * noise * (ramp < 1)), 0, 1)
        ahead = (dist_mm <= 0) & (dist_mm > -SOFT_LEAD_MM)
        lead = SOFT_LEAD_SHARE * np.clip(1.0 + 1.2 * noise, 0, 2.5) * (1.0 + dist_mm / SOFT_LEAD_MM)
        return np.where(ahead, lead, ramp).astype(np.float32)
    if style == "faded":
        return np.where(dist_mm > 0, FADED_START + (1 - FADED_START) * np.clip(dist_mm / band, 0, 1), 0.0).astype(
            np.float32)
    return (dist_mm > 0).astype(np.float32)


def check_mask(mask: np.ndarray | None, shape: tuple[int, int], what: str) -> np.ndarray | None:
    """``mask`` as a boolean array of the photo's ``shape``, or a `BadSetting` naming ``what``."""
    if mask is None:
        return None
    mask = np.asarray(mask).astype(bool, copy=False)
    if mask.shape != shape:
        raise BadSetting(
            f"The {what} is {mask.shape[1]}x{mask.shape[0]} pixels but the photo is {shape[1]}x{shape[0]}.",
            f"Draw the {what} on the same photo (same size, after rotation).",
        )
    return mask


def build_zones(analysis: HeadAnalysis, settings: Settings, scars: np.ndarray | None = None,
                exclude: np.ndarray | None = None) -> Zones:
    """Per-pixel target density (dots/cm²) for ``settings`` on the analysed photo.

    Parameters
    ----------
    analysis : HeadAnalysis
    settings : Settings
    scars : (H, W) bool array, optional
        Confirmed scar tissue (from a mask file or drawn in the app). Suggestions from
        `suggest_scars` must be confirmed by the consultant before they are passed here.
    exclude : (H, W) bool array, optional
        Areas the consultant keeps untouched (painted in the app or given as a mask): no dots
        there whatever the label map says (a bystander's head, an object behind the head that the
        analysis took for scalp or hair).
    """
    labels = analysis.labels
    shape = labels.shape
    s = analysis.px_per_mm
    face = analysis.face
    scars = check_mask(scars, shape, "scar mask")
    exclude = check_mask(exclude, shape, "mask of areas to leave untouched")
    if settings.mode == "scars" and (scars is None or not scars.any()):
        raise BadSetting("Mode 'scars' needs a scar mask.", "Give --scars MASK.png or draw the scars.")

    geo = _geometry(analysis)
    skull, head = geo.get("skull"), geo.get("head")
    hairline = design_hairline(analysis, settings, skull=skull, head=head)

    plan = None
    if settings.shave and face is not None and settings.mode in ("full", "hairline", "scars"):
        plan = _shave_plan(analysis)
    scalp = geo["scalp"] | plan.to_skin if plan is not None else geo["scalp"]
    if plan is not None and face is not None:
        scalp = scalp & geo["above_brows"]
    if exclude is not None:
        scalp = scalp & ~exclude
    scar_zone_full = np.zeros(shape, bool)
    if scars is not None:
        from .shave import within

        scar_zone_full = within(scars, max(1.0, SCAR_MARGIN_MM * s)) & scalp
    candidate = scalp | scar_zone_full
    y0, y1, x0, x1 = _bbox(candidate, 2, shape)
    if y1 <= y0:
        empty = np.zeros((0, 0), np.float32)
        return Zones(empty, (0, 0, 0, 0), empty.astype(bool), empty.astype(bool), np.zeros((0, 2)), plan,
                     hairline, head, skull)
    box = (slice(y0, y1), slice(x0, x1))
    allowed_b = scalp[box]
    rng = np.random.default_rng(settings.seed)
    target = float(settings.density_per_cm2)

    hairline_pts = np.zeros((0, 2))
    if hairline is not None:
        if face is not None:
            g, up, right = face.glabella, face.up, face.right
        else:
            g, up, right = np.zeros(2), np.array([0.0, -1.0]), np.array([1.0, 0.0])
        dist = _hairline_distance(geo, analysis, hairline, (y0, y1, x0, x1))
        ramp = _edge_ramp(dist, settings.hairline_style, s, rng)
        if settings.mode == "hairline":
            ramp = ramp * (dist < HAIRLINE_ONLY_DEPTH_MM)
        uu = hairline.u_mm[:: max(1, len(hairline.u_mm) // 120)]
        vv = hairline.image_height_mm(uu)
        hairline_pts = g[None, :] + (uu[:, None] * right[None, :] + vv[:, None] * up[None, :]) * s
    else:
        ramp = np.ones(allowed_b.shape, np.float32)

    density = np.where(allowed_b, ramp, 0.0).astype(np.float32) * target
    if settings.mode == "thinning":
        density = _thinning(density, analysis, box, s)
    if settings.mode == "scars":
        density[:] = 0.0
    scar_b = np.zeros(allowed_b.shape, bool)
    if scars is not None:
        zone_b = scar_zone_full[box]
        density[zone_b] = target
        scar_b = scars[box] & zone_b
    full = density >= target * 0.999
    return Zones(density, (y0, y1, x0, x1), full, scar_b, hairline_pts, plan, hairline, head, skull)


def _hairline_distance(geo: dict, analysis: HeadAnalysis, hairline: Hairline, box) -> np.ndarray:
    """mm above ``hairline`` in the image plane of every pixel of ``box``; the face frame of the box
    and the last distance field are kept with the analysis (sliders that do not move the hairline
    or the box reuse them). Callers must not modify the returned array."""
    key = (box, hairline.u_mm.tobytes(), hairline.v_mm.tobytes())
    last = geo.get("hairline_dist")
    if last is not None and last[0] == key:
        return last[1]
    uv = geo.get("uv")
    if uv is None or uv[0] != box:
        y0, y1, x0, x1 = box
        s = analysis.px_per_mm
        if analysis.face is not None:
            u, v = face_frame(analysis.face, analysis.labels.shape, s, box)
        else:
            ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
            u, v = xs / s, -ys / s
        uv = geo["uv"] = (box, u, v)
    dist = uv[2] - hairline.image_height_mm(uv[1])
    geo["hairline_dist"] = (key, dist)
    return dist


THINNING_REACH_MM = 6.0
"""Scalp within this distance of hair counts as showing through it (thinning mode)."""


def _thinning(density: np.ndarray, analysis: HeadAnalysis, box, px_per_mm: float) -> np.ndarray:
    """Keep the hair: dots only on scalp pixels among the hair, scaled by the local hair coverage.

    Scalp with hair around it (coverage near 0.5) gets the full target; bare scalp far from any
    hair gets none (it is baldness, not thinning); hair pixels get nothing.
    """
    labels_b = analysis.labels[box]
    hair = (labels_b == HAIR).astype(np.float32)
    sigma = max(1.0, THINNING_REACH_MM * px_per_mm / 2.0)
    local = cv2.GaussianBlur(hair, (0, 0), sigma)
    cov = np.maximum(local, analysis.segmentation.hair_coverage[box])
    # a coverage under 5 % is the models' noise on bare scalp, not hair: no thinning there
    out = density * np.clip((cov - 0.05) / 0.35, 0.0, 1.0)
    out[labels_b != SCALP] = 0.0
    return out.astype(np.float32)


@dataclass(frozen=True, eq=False)
class ScarCandidate:
    """A patch that looks like a scar, for the consultant to confirm (never applied unconfirmed).

    ``mask`` is full-size bool; ``contour`` an (N, 2) int array of image points; ``kind``
    ``"linear"`` (strip scar) or ``"round"`` (extraction or trauma scar); ``score`` how much
    lighter and smoother than the scalp around it (higher: more scar-like).
    """

    mask: np.ndarray
    contour: np.ndarray
    kind: str
    score: float
    area_mm2: float


def suggest_scars(analysis: HeadAnalysis, *, min_area_mm2: float = 3.0, max_width_mm: float = 12.0,
                  lightness_sigma: float = 2.5, max_candidates: int = 8) -> list[ScarCandidate]:
    """Light, smooth, elongated or round patches inside the scalp zone: likely scars.

    Scar tissue is paler and smoother than the skin around it (no pores, no follicles). We take
    the lightness (CIELAB L) minus its local median over about three scar widths, keep pixels
    more than ``lightness_sigma`` robust standard deviations lighter whose fine texture is
    below the scalp's median, and keep connected patches of at least ``min_area_mm2`` that are
    either elongated (a strip scar) or compact and small (a round scar). Broad shine on a bald
    head is removed by the local median (it is wider than ``max_width_mm``).

    Returns the candidates, best first. They are suggestions: pass a candidate's ``mask`` to
    `build_zones` as ``scars`` only after the consultant has confirmed it.
    """
    labels = analysis.labels
    s = analysis.px_per_mm
    scalp = labels == SCALP
    if analysis.face is not None:
        _, v = face_frame(analysis.face, labels.shape, s)
        scalp &= v > BROW_GUARD_MM
    scalp = cv2.erode(scalp.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if scalp.sum() < 50:
        return []
    y0, y1, x0, x1 = _bbox(scalp, int(3 * max_width_mm * s), labels.shape)
    rgb = analysis.rgb[y0:y1, x0:x1]
    sc = scalp[y0:y1, x0:x1]
    light = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    k = max(3, round(max_width_mm * s) | 1)
    # Median of the scalp only: fill the rest with the scalp's median first so edges do not leak.
    filled = np.where(sc, light, np.median(light[sc])).astype(np.float32)
    base = cv2.medianBlur(np.clip(filled, 0, 255).astype(np.uint8), min(k, 255 if k < 255 else 253)).astype(np.float32)
    resid = filled - base
    mad = float(np.median(np.abs(resid[sc]))) * 1.4826 + 1e-3
    fine = np.abs(light - cv2.GaussianBlur(light, (0, 0), max(0.6, 0.3 * s)))
    texture = cv2.GaussianBlur(fine, (0, 0), max(1.0, 1.0 * s))
    # Only in close-ups do pores resolve; at portrait scale a thin scar's own edges dominate the
    # fine texture, so smoothness is judged on the patch's surroundings-removed interior there.
    if s >= 4.0:
        inner = cv2.erode((resid > lightness_sigma * mad).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        smooth = ~inner | (texture <= np.median(texture[sc]) * 1.1)
    else:
        smooth = np.ones_like(sc)
    cand = sc & (resid > lightness_sigma * mad) & smooth
    cand = cv2.morphologyEx(cand.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    n, comp, stats, _ = cv2.connectedComponentsWithStats(cand, connectivity=8)
    out = []
    for i in range(1, n):
        area_mm2 = stats[i, cv2.CC_STAT_AREA] / s**2
        if area_mm2 < min_area_mm2:
            continue
        m = comp == i
        cnts, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cnt = max(cnts, key=cv2.contourArea)
        if len(cnt) >= 5:
            (_, _), (w_, h_), _ = cv2.minAreaRect(cnt)
        else:
            w_, h_ = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]
        long_mm, short_mm = max(w_, h_) / s, max(min(w_, h_), 1.0) / s
        if short_mm > max_width_mm:
            continue  # too wide for a scar: shine or a bald patch
        kind = "linear" if long_mm / short_mm >= 3.0 else "round"
        if kind == "round" and long_mm > max_width_mm:
            continue
        score = float(resid[m].mean() / mad)
        full = np.zeros(labels.shape, bool)
        full[y0:y1, x0:x1] = m
        contour = cnt.reshape(-1, 2) + np.array([x0, y0])
        out.append(ScarCandidate(full, contour.astype(np.int32), kind, score, float(area_mm2)))
    out.sort(key=lambda c: -c.score * np.sqrt(c.area_mm2))
    return out[:max_candidates]


def scar_mask_from_points(shape: tuple[int, int], points_px, width_mm: float, px_per_mm: float) -> np.ndarray:
    """A scar drawn as a line through pixel points (one point: a round scar) of ``width_mm``.

    For the app and scripts without a drawing canvas: the consultant clicks or types the points
    along a strip scar, or one point per round extraction scar with its diameter.
    """
    pts = np.asarray(points_px, np.float64).reshape(-1, 2)
    if len(pts) == 0:
        raise BadSetting("A drawn scar needs at least one point.", "Give points as x1,y1;x2,y2;... in pixels.")
    if not 0.2 <= width_mm <= 50.0:
        raise BadSetting(f"Scar width {width_mm} mm is out of range.", "It must be between 0.2 and 50 mm.")
    mask = np.zeros(shape, np.uint8)
    thick = max(1, round(width_mm * px_per_mm))
    p = np.round(pts).astype(np.int32)
    if len(p) == 1:
        cv2.circle(mask, (int(p[0, 0]), int(p[0, 1])), max(1, thick // 2), 1, -1)
    else:
        cv2.polylines(mask, [p], False, 1, thick, cv2.LINE_8)
    return mask.astype(bool)
