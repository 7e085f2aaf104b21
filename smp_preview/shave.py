"""The shaved look: remaining head hair becomes shaved scalp (stubble comes from the dots).

A client with a fringe of longer hair at the sides and back shaves it for SMP. We replace the
head hair in the photo by what a shaved head would show:

- inside the skull outline (`hairline.SkullOutline`): skin whose colour and shading are
  interpolated from the adjacent bare scalp and side skin (a push-pull, i.e. pyramid
  normalised-convolution fill, Gortler et al. 1996), with the scalp's own fine grain added;
- outside the skull outline, where the hair stood out: the background, filled in the same way
  from the surrounding background.

The shaved scalp then becomes part of the treatment zone (`zones.build_zones`), so the same dot
layer that renders the SMP renders the stubble there and the two read as one even buzz cut.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import cv2
import numpy as np

from .face import FaceGeometry
from .hairline import SkullOutline, face_frame
from .segment import BACKGROUND, HAIR, SCALP, SKIN

EDGE_FEATHER_PX = 1.0
EDGE_FEATHER_MM = 0.3
"""Softness of the new skull outline against the restored background (sigma, at least 1 px)."""
GRAIN_MM = 0.15
"""Scale of the fine skin grain added to the shaved scalp, mm."""
SIDEBURN_FLOOR_MM = -25.0
HAIR_EDGE_MM = 2.0
"""Background this close to the hair is its anti-aliased edge and wisps: restored with it."""
"""Hair below this height above the glabella (beard-side sideburns) is left alone."""


@dataclass(frozen=True, eq=False)
class ShavePlan:
    """Which pixels the shaved look changes (full-size bool masks)."""

    to_skin: np.ndarray  # head hair inside the skull outline -> shaved scalp
    to_background: np.ndarray  # head hair beyond the skull outline -> background
    skull: SkullOutline
    skin_lab: tuple[np.ndarray, np.ndarray] | None = None  # the face's skin colour: median, spread (CIELAB, 8-bit)
    face: FaceGeometry | None = None

    @property
    def changed(self) -> np.ndarray:
        return self.to_skin | self.to_background


def plan_shave(labels: np.ndarray, face: FaceGeometry, px_per_mm: float, skull: SkullOutline,
               rgb: np.ndarray | None = None) -> ShavePlan:
    """Split the head hair into what becomes scalp and what becomes background.

    With ``rgb``, stray hair just outside the head that the label map calls background (dark
    outer strands, flyaways) is found by its colour against the backdrop and restored too.
    """
    u, v = face_frame(face, labels.shape, px_per_mm)
    hair = (labels == HAIR) & (v > SIDEBURN_FLOOR_MM)
    # Close small gaps (wisps, strands labelled background inside the fringe) so that no
    # islands of hair colour remain in the shaved area.
    k = max(3, round(1.5 * px_per_mm) | 1)
    closed = cv2.morphologyEx(hair.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((k, k), np.uint8)).astype(bool)
    hair = hair | (closed & (labels == BACKGROUND) & (v > 0))
    # The anti-aliased outer edge of the hair (darker than the backdrop but labelled background)
    # and stray wisps just beyond it go with the hair.
    r = max(1, round(HAIR_EDGE_MM * px_per_mm))
    hair = hair | (within(hair, r) & (labels == BACKGROUND) & (v > SIDEBURN_FLOOR_MM))
    inside = skull.inside(u, v)
    skin_lab = None
    if rgb is not None and hair.any():
        hair |= _stray_hair(rgb, labels, hair, inside, v, px_per_mm)
        skin_lab = _face_skin_lab(rgb, face, px_per_mm)
    return ShavePlan(hair & inside, hair & ~inside, skull, skin_lab, face)


FACE_SKIN_POINTS = (151, 205, 425)
"""Mid-forehead and cheek centres: bare skin on nearly every face."""


def _face_skin_lab(rgb: np.ndarray, face: FaceGeometry, px_per_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust spread of the face's own skin colour (CIELAB, 8-bit scale)."""
    mask = np.zeros(rgb.shape[:2], np.uint8)
    r = max(2, round(6 * px_per_mm))
    for i in FACE_SKIN_POINTS:
        x, y = np.round(face.point(i)).astype(int)
        cv2.circle(mask, (int(x), int(y)), r, 1, -1)
    ys, xs = np.nonzero(mask)
    px = cv2.cvtColor(rgb[ys, xs][None], cv2.COLOR_RGB2LAB)[0].astype(np.float32)
    med = np.median(px, axis=0)
    spread = np.median(np.abs(px - med), axis=0) * 1.4826 + 1.0
    return med, spread


STRAY_REACH_MM = 6.0
"""How far beyond the head outline stray hair labelled background is looked for."""


def _stray_hair(rgb, labels, hair, inside, v, px_per_mm) -> np.ndarray:
    """Background-labelled pixels near the hair whose colour is not the backdrop's."""
    fg = labels != BACKGROUND
    r = max(2, round(STRAY_REACH_MM * px_per_mm))
    near = within(hair, r) & ~fg & ~inside & (v > 0)
    if not near.any():
        return near
    far_bg = ~within(fg, r)
    if far_bg.sum() < 100:
        return np.zeros_like(near)
    ys, xs = np.nonzero(near)
    pad = 3 * r
    y0, y1 = max(0, ys.min() - pad), min(labels.shape[0], ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(labels.shape[1], xs.max() + 1 + pad)
    img = rgb[y0:y1, x0:x1].astype(np.float32) / 255.0
    est = _push_pull(img, far_bg[y0:y1, x0:x1])
    resid = np.linalg.norm(img - est, axis=2)
    ref = resid[far_bg[y0:y1, x0:x1]]
    thr = max(0.06, float(np.percentile(ref, 99))) if ref.size else 0.06
    out = np.zeros_like(near)
    out[y0:y1, x0:x1] = near[y0:y1, x0:x1] & (resid > thr)
    # keep only strands connected to the hair, not unrelated backdrop detail
    grown = cv2.dilate(out.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    _n, comp = cv2.connectedComponents((grown | hair).astype(np.uint8))
    touching = np.unique(comp[hair])
    return out & np.isin(comp, touching[touching > 0])


def within(mask: np.ndarray, radius_px: float) -> np.ndarray:
    """Pixels within ``radius_px`` of ``mask`` (a disc dilation via the distance transform: fast
    for the large radii of high-resolution photos)."""
    if not mask.any():
        return np.zeros_like(mask, bool)
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3) <= radius_px


PUSH_PULL_MAX_SIDE = 1024
"""The smooth fill is computed at most at this size and upsampled (it has no fine detail)."""


def _push_pull(img: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill unknown pixels of a float image smoothly from the known ones (pyramid normalised convolution)."""
    h, w0 = known.shape
    f = PUSH_PULL_MAX_SIDE / max(h, w0)
    if f < 1.0:
        size = (max(1, round(w0 * f)), max(1, round(h * f)))
        wk = cv2.resize(known.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        num = cv2.resize(img * known[..., None].astype(np.float32), size, interpolation=cv2.INTER_AREA)
        if num.ndim == 2:
            num = num[..., None]
        small = _push_pull_weighted(num / np.maximum(wk, 1e-6)[..., None], wk)
        big = cv2.resize(small, (w0, h), interpolation=cv2.INTER_LINEAR)
        return big if big.ndim == 3 else big[..., None]
    return _push_pull_weighted(img, known.astype(np.float32))


def _push_pull_weighted(img: np.ndarray, w: np.ndarray) -> np.ndarray:
    w = w.astype(np.float32)
    num = img * w[..., None]
    levels = [(num, w)]
    while min(num.shape[:2]) > 8:
        num = cv2.pyrDown(num)
        w = cv2.pyrDown(w)
        if num.ndim == 2:
            num = num[..., None]
        levels.append((num, w))
    num, w = levels[-1]
    total = max(float(w.sum()), 1e-6)
    est = num / np.maximum(w, 1e-6)[..., None]
    mean = num.reshape(-1, num.shape[-1]).sum(axis=0) / total
    est = np.where((w > 1e-6)[..., None], est, mean)
    for num, w in reversed(levels[:-1]):
        up = cv2.pyrUp(est, dstsize=(num.shape[1], num.shape[0]))
        if up.ndim == 2:
            up = up[..., None]
        alpha = np.clip(w * 4.0, 0.0, 1.0)[..., None]
        est = alpha * (num / np.maximum(w, 1e-6)[..., None]) + (1 - alpha) * up
    return est


def _grain(shape: tuple[int, int], sample: np.ndarray, rng: np.random.Generator, *,
           sigma_px: float = 0.7, max_sd: float = 0.08) -> np.ndarray:
    """Zero-mean fine grain with the standard deviation of the sample's high frequencies."""
    if sample.size < 50:
        return np.zeros(shape, np.float32)
    sd = float(np.clip(np.std(sample), 0.0, max_sd))
    g = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma_px)
    return g / (g.std() + 1e-6) * sd


def _limb_shading(lum: np.ndarray, lab: np.ndarray, src: np.ndarray, plan: ShavePlan, px_per_mm: float,
                  box: tuple[int, int, int, int]) -> np.ndarray:
    """Relative darkening of the filled skin towards the skull outline (the head turning away).

    The fall-off is measured on the client's own bare scalp (outer rim over inner ring of the
    skull ellipse; default 0.88 when too little scalp is seen) and applied relative to the fill's
    sources, so the shaved skin continues the real shading without a seam.
    """
    sk = plan.skull
    u, v = face_frame(plan.face, lab.shape, px_per_mm, box)
    rho = np.sqrt(((u - sk.centre_u_mm) / sk.half_width_mm) ** 2 + (np.maximum(v, 0) / sk.top_mm) ** 2)
    scalp = src & (lab == SCALP)
    inner = scalp & (rho > 0.55) & (rho < 0.75)
    outer = scalp & (rho > 0.88) & (rho < 0.98)
    ratio = 0.88
    if inner.sum() > 50 and outer.sum() > 50:
        ratio = float(np.median(lum[outer]) / max(np.median(lum[inner]), 1e-4))
    ratio = float(np.clip(ratio, 0.6, 1.0))
    f = 1.0 - (1.0 - ratio) * np.clip((rho - 0.75) / 0.2, 0.0, 1.2)
    f_src = _push_pull(f[..., None].astype(np.float32), src)[..., 0]
    return (f / np.maximum(f_src, 0.3)).astype(np.float32)


_SHAVED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def shaved_photo(rgb: np.ndarray, labels: np.ndarray, plan: ShavePlan, px_per_mm: float) -> np.ndarray:
    """`shave_image` with a fixed grain seed, cached per plan (plans are cached per analysis)."""
    out = _SHAVED.get(plan)
    if out is None:
        out = shave_image(rgb, labels, plan, px_per_mm, seed=0)
        out.setflags(write=False)
        _SHAVED[plan] = out
    return out


def shave_image(rgb: np.ndarray, labels: np.ndarray, plan: ShavePlan, px_per_mm: float, *,
                seed: int = 0) -> np.ndarray:
    """A copy of ``rgb`` with the head hair of ``plan`` replaced by shaved scalp and background.

    Only pixels of ``plan.changed`` differ from ``rgb``.
    """
    out = rgb.copy()
    changed = plan.changed
    if not changed.any():
        return out
    rng = np.random.default_rng(seed + 1234)
    ys, xs = np.nonzero(changed)
    pad = round(40 * px_per_mm)
    h, w = labels.shape
    y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + 1 + pad)
    box = (slice(y0, y1), slice(x0, x1))
    img = rgb[box].astype(np.float32) / 255.0
    lab = labels[box]
    lin = img ** 2.2  # fill in (approximately) linear light so shading blends physically
    result = lin.copy()
    erode = np.ones((3, 3), np.uint8)
    hair_near = within(plan.changed[box], 2.0)

    to_skin = plan.to_skin[box]
    if to_skin.any():
        # Bare skin next to the hair: scalp, and side skin outside the face (temples, ears' edge).
        src = cv2.erode(((lab == SCALP) | (lab == SKIN)).astype(np.uint8), erode).astype(bool) & ~hair_near
        if plan.skin_lab is not None:
            # only pixels whose colour is the face's skin (in shadow or light): hair the label
            # map took for skin must not colour the shaved scalp
            med, spread = plan.skin_lab
            clab = cv2.cvtColor(rgb[box], cv2.COLOR_RGB2LAB).astype(np.float32)
            chroma_ok = np.all(np.abs(clab[..., 1:] - med[1:]) <= 4 * spread[1:] + 4, axis=2)
            light_ok = np.abs(clab[..., 0] - med[0]) <= 4 * spread[0] + 35
            if (src & chroma_ok & light_ok).sum() >= 30:
                src = src & chroma_ok & light_ok
        if src.sum() < 30:
            src = cv2.erode((lab == SCALP).astype(np.uint8), erode).astype(bool)
        fill = _push_pull(lin, src)
        lum = lin.mean(axis=2)
        if plan.face is not None:
            fill = fill * _limb_shading(lum, lab, src, plan, px_per_mm, (y0, y1, x0, x1))[..., None]
        fine = max(0.7, GRAIN_MM * px_per_mm)
        hp = lum - cv2.GaussianBlur(lum, (0, 0), 2 * fine)
        grain = _grain(lum.shape, hp[src & (lab == SCALP)] / np.maximum(lum[src & (lab == SCALP)], 1e-3), rng,
                       sigma_px=fine)
        skin = np.clip(fill * (1.0 + grain[..., None]), 0, 1)
        result = np.where(to_skin[..., None], skin, result)

    to_bg = plan.to_background[box]
    if to_bg.any():
        src = cv2.erode((lab == BACKGROUND).astype(np.uint8), erode, iterations=2).astype(bool) & ~hair_near
        if src.sum() < 30:
            src = lab == BACKGROUND
        fill = _push_pull(lin, src)
        lum = lin.mean(axis=2)
        hp = lum - cv2.GaussianBlur(lum, (0, 0), 1.5)
        grain = _grain(lum.shape, hp[src], rng)
        bg = np.clip(fill * (1.0 + grain[..., None] * 2.0), 0, 1)
        # Anti-alias the new skull edge: blend background and skin over about one pixel.
        soft = cv2.GaussianBlur(to_bg.astype(np.float32), (0, 0), max(EDGE_FEATHER_PX, EDGE_FEATHER_MM * px_per_mm))
        soft = np.where(to_bg, np.maximum(soft, 0.5), np.where(to_skin, np.minimum(soft, 0.5), 0.0))
        result = np.where(to_bg[..., None], bg, result)
        edge = to_skin & (soft > 0)
        result = np.where(edge[..., None], soft[..., None] * bg + (1 - soft[..., None]) * result, result)

    new = np.clip(np.rint(np.clip(result, 0, 1) ** (1 / 2.2) * 255.0), 0, 255).astype(np.uint8)
    sub = out[box]
    sub[changed[box]] = new[changed[box]]
    out[box] = sub
    return out
