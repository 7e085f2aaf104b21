"""Hairline design: a head model that follows the pose, templates and custom curves.

Frames and units
----------------
A hairline is described in the face's own frame, in millimetres: ``u`` to the side of the
glabella (positive towards the image right, along `FaceGeometry.right`) and ``v`` up in the
image (along `FaceGeometry.up`). Templates are designed as heights *along the skin* above the
glabella, the way a practitioner's flexible ruler measures them, and projected into the image
through `HeadModel`.

The head model
--------------
Seen from the camera, the mid-sagittal skull profile is an arc that leaves the glabella inclined
back by ``a`` from the image vertical and curves until its tangent is horizontal, which is the
top of the head's outline in the image (`HeadModel`)::

    h(s) = R (sin(a + s/R) - sin(a))       image height of the point s mm up the skin
    top  = R (1 - sin(a))

``a`` follows the pose: it is read from the face mesh's depth along the forehead midline
(`forehead_inclination_deg`, about 14 deg minus the pitch). ``R`` is *fitted to the photo*: the
top must land on the skull outline found in the label map (`fit_skull`), so a head seen tipped
back (its top low in the image) gets a shorter projection of the same 80 mm.

Evidence for the sign of the pitch (house portraits): MediaPipe's pitch correlates with the
mesh's own depth slope along the forehead with the opposite sign (K000375: pitch +12.8 deg,
forehead inclination -2.8 deg; A000376: pitch -7.6 deg, inclination +25 deg), so a positive
pitch means the forehead is tipped towards the camera (chin down); the outline tops are higher
on those photos (K000375: 99 mm above the glabella; M001194 at -4.6 deg: 69 mm).
Check on a natural hairline: Obama (samples/obama.jpg) has his own hairline about 61 mm above
the glabella in the image (read off the photo); his fitted model (R 109 mm, a 15 deg) puts 70 mm
along the skin at 57 mm and 80 mm at 63 mm, i.e. his own line is at about 76 mm along the skin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .face import FaceGeometry

FOREHEAD_RADIUS_MM = 95.0
"""Radius of the old circular forehead model (kept for `projected_height_mm`)."""
HEAD_DEPTH_MM = 95.0
"""Depth of the skull's highest point behind the glabella (half the head length, about 95 mm)."""
HEAD_TOP_PRIOR_MM = 105.0
"""Adult vertex height above the glabella (head height minus glabella-menton), the prior."""
HAIR_ALLOWANCE_MM = 10.0
"""Hair standing above the skull when the silhouette top is hair, subtracted from it."""
MAX_ASYMMETRY_MM = 2.0

TEMPLATE_PROFILES = {
    # name: (rise of the temple corners above the midpoint in mm, exponent of the arc, peak depth)
    "classic": (10.0, 2.2, 0.0),
    "straight": (3.0, 3.0, 0.0),
    "mature": (20.0, 1.8, 0.0),
    "widows_peak": (12.0, 2.0, 7.0),
}
WIDOWS_PEAK_DEPTH_MM = 7.0
"""How far a widow's peak reaches below the line beside it, mm along the skin."""
WIDOWS_PEAK_HALF_WIDTH_MM = 9.0
TEMPLE_DROP_MM = 400.0
"""Fall of the hairline beyond the temple corners per unit of (|u| / corner u) - 1, mm."""
RECEDED_TEMPLE_MM = 14.0
"""Extra height of receded temple corners, mm along the skin."""


@dataclass(frozen=True)
class HeadModel:
    """The mid-sagittal skull profile as seen by the camera: an arc from the glabella to the top.

    In the camera's frame (image height ``h`` up, depth back), the forehead leaves the
    glabella inclined ``inclination_deg`` back from the image vertical and curves with radius
    ``radius_mm`` until its tangent is horizontal: that point is the top of the head outline.
    A point ``s`` mm up the skin projects to ``h = R (sin(a + s/R) - sin a)``.

    Attributes
    ----------
    radius_mm : R, fitted so that the top lands on the skull outline of the photo.
    inclination_deg : a, the forehead's inclination in the camera frame; it follows the pose
        (head tipped forward, forehead towards the camera: smaller).
    pitch_deg : the head pitch it came from (report only).
    """

    radius_mm: float = FOREHEAD_RADIUS_MM
    inclination_deg: float = 0.0
    pitch_deg: float = 0.0

    @property
    def _a(self) -> float:
        return float(np.radians(self.inclination_deg))

    def arc_length_to_top_mm(self) -> float:
        return self.radius_mm * (np.pi / 2 - self._a)

    def image_height_mm(self, along_skin_mm: np.ndarray | float) -> np.ndarray:
        """Image-plane height above the glabella of the point ``s`` mm up the skin (midline)."""
        r, a = self.radius_mm, self._a
        phi = np.clip(a + np.asarray(along_skin_mm, np.float64) / r, a - np.pi / 2, np.pi / 2)
        return r * (np.sin(phi) - np.sin(a))

    def along_skin_mm(self, image_height_mm: np.ndarray | float) -> np.ndarray:
        """Inverse of `image_height_mm` on the rising part of the profile."""
        r, a = self.radius_mm, self._a
        x = np.clip(np.asarray(image_height_mm, np.float64) / r + np.sin(a), -1.0, 1.0)
        return r * (np.arcsin(x) - a)

    def silhouette_top_mm(self) -> float:
        """Image height of the highest point of the profile (the top of the head outline)."""
        return float(self.radius_mm * (1.0 - np.sin(self._a)))

    @property
    def height_mm(self) -> float:  # the top, for reports
        return self.silhouette_top_mm()


def head_model_for_top(top_mm: float, inclination_deg: float, *, pitch_deg: float = 0.0) -> HeadModel:
    """The head model whose outline top lies ``top_mm`` above the glabella in the image."""
    a = float(np.radians(np.clip(inclination_deg, -20.0, 45.0)))
    r = float(np.clip(top_mm / max(1.0 - np.sin(a), 0.2), 60.0, 220.0))
    return HeadModel(r, float(np.degrees(a)), pitch_deg)


def forehead_inclination_deg(face: FaceGeometry) -> float:
    """Inclination of the forehead from the image vertical (back positive), camera frame.

    From the depth of the face mesh along the forehead midline (landmark 9 at the brows to
    landmark 10 at the top of the mesh). MediaPipe's depth is that of its canonical face
    rotated by the pose, so this is about 14 deg minus the pitch on the house portraits
    (it follows the pose; its sign is checked in the module notes).
    """
    lm = face.landmarks_px
    d = lm[10, :2] - lm[9, :2]
    h = float(d @ face.up)
    z = float(lm[10, 2] - lm[9, 2])
    if h <= 1e-6:
        return 14.0 - face.pitch_deg
    return float(np.degrees(np.arctan2(z, h)))


def projected_height_mm(height_along_skin_mm: np.ndarray | float, pitch_deg: float = 0.0) -> np.ndarray:
    """Image-plane height above the glabella of a point ``s`` mm up the skin (prior head model).

    The prior: a 95 mm arc starting vertical, tipped by ``pitch_deg`` (forehead towards the
    camera positive, which makes the forehead *more* upright in the image).
    """
    return HeadModel(FOREHEAD_RADIUS_MM, -pitch_deg).image_height_mm(height_along_skin_mm)


def temple_half_width_mm(face: FaceGeometry, px_per_mm: float) -> float:
    """Half the distance between the lateral eye corners, mm (the temple corners lie above them)."""
    a, b = face.eye_corners
    return float(np.linalg.norm(b - a)) / px_per_mm / 2.0


def temple_corners_u_mm(face: FaceGeometry, px_per_mm: float) -> tuple[float, float]:
    """``u`` of the verticals through the outer eye corners (image-left, image-right), mm."""
    g = face.glabella
    r = face.right
    a, b = face.eye_corners
    return float((a - g) @ r) / px_per_mm, float((b - g) @ r) / px_per_mm


def _wobble(u_mm: np.ndarray, phases: np.ndarray, amplitude_mm: float) -> np.ndarray:
    """Smooth micro-irregularity (a few wavelengths of 5-31 mm), zero at the midpoint."""
    if amplitude_mm <= 0:
        return np.zeros_like(u_mm)
    wavelengths = np.array([5.0, 9.0, 17.0, 31.0])  # mm
    amp = amplitude_mm * np.array([0.2, 0.3, 0.3, 0.2])
    w = sum(a * np.sin(2 * np.pi * u_mm / lam + p) for a, lam, p in zip(amp, wavelengths, phases))
    w0 = sum(a * np.sin(p) for a, p in zip(amp, phases))
    return w - w0


def _irregular(u_mm: np.ndarray, tu_left: float, tu_right: float, rng: np.random.Generator,
               irregularity_mm: float, asymmetry_mm: float) -> np.ndarray:
    """Wobble plus a one-sided lift; its left/right difference is capped at `MAX_ASYMMETRY_MM`."""
    phases = rng.uniform(0, 2 * np.pi, size=4)

    def part(u):
        tu = np.where(u < 0, tu_left, tu_right)
        return _wobble(u, phases, irregularity_mm) + asymmetry_mm / 2 * np.clip(u / tu, -1.0, 1.0)

    span = max(tu_left, tu_right) * 1.5
    grid = np.linspace(0.0, span, 601)
    odd_max = float(np.max(np.abs(part(grid) - part(-grid)))) if span > 0 else 0.0
    value = part(u_mm)
    mirror = part(-u_mm)
    cap = 0.97 * MAX_ASYMMETRY_MM  # a little margin for the sampling of the bound
    if odd_max > cap:  # shrink the odd (left/right) part only
        odd = (value - mirror) / 2
        value = value - odd + odd * (cap / odd_max)
    return value


def hairline_height_mm(
    u_mm: np.ndarray,
    *,
    template: str,
    midpoint_mm: float,
    temple_u_mm: float | tuple[float, float],
    rng: np.random.Generator | None = None,
    irregularity_mm: float = 0.0,
    widows_peak: bool = False,
    receded_temples: bool = False,
    asymmetry_mm: float = 0.0,
) -> np.ndarray:
    """Height of the hairline above the glabella along the skin, as a function of ``u`` (mm).

    The front midpoint (``u = 0``) is exactly ``midpoint_mm`` (the tip of a widow's peak when
    there is one); the line rises to the temple corners at ``temple_u_mm`` (one value, or the
    image-left and image-right corner positions) and turns down the sides beyond them.
    ``asymmetry_mm`` lifts one side relative to the other (at most `MAX_ASYMMETRY_MM`).
    """
    u_mm = np.asarray(u_mm, np.float64)
    rise, power, peak = TEMPLATE_PROFILES[template]
    if widows_peak and not peak:
        peak = WIDOWS_PEAK_DEPTH_MM
    if receded_temples:
        rise += RECEDED_TEMPLE_MM
        power = max(1.3, power - 0.6)  # the recession starts closer to the midline
    if isinstance(temple_u_mm, tuple):
        left, right = abs(temple_u_mm[0]), abs(temple_u_mm[1])
    else:
        left = right = abs(temple_u_mm)
    tu = np.where(u_mm < 0, max(left, 1.0), max(right, 1.0))
    t = np.abs(u_mm) / tu
    height = midpoint_mm + peak + rise * np.minimum(t, 1.0) ** power
    if peak:
        height = height - peak * np.exp(-((u_mm / WIDOWS_PEAK_HALF_WIDTH_MM) ** 2))
    # Beyond the temple corner the temporal hairline runs down the side of the head: in a frontal
    # view nearly vertical (TEMPLE_DROP_MM of height per unit of t, about 9 mm per mm sideways).
    height = np.where(t > 1.0, height - TEMPLE_DROP_MM * (t - 1.0), height)
    asym = float(np.clip(asymmetry_mm, -MAX_ASYMMETRY_MM, MAX_ASYMMETRY_MM))
    if rng is not None and (irregularity_mm > 0 or asym):
        height = height + _irregular(u_mm, max(left, 1.0), max(right, 1.0), rng, irregularity_mm, asym)
    elif asym:
        height = height + asym / 2 * np.clip(u_mm / tu, -1.0, 1.0)
    return height


@dataclass(frozen=True, eq=False)
class Hairline:
    """A designed hairline as image heights (mm above the glabella) over ``u`` (mm).

    ``u_mm`` is increasing; ``v_mm`` the image-plane height of the line there. Outside the
    sampled range the line continues down the sides of the head.
    """

    u_mm: np.ndarray
    v_mm: np.ndarray
    midpoint_along_skin_mm: float | None = None

    def image_height_mm(self, u_mm: np.ndarray) -> np.ndarray:
        u = np.asarray(u_mm, np.float64)
        v = np.interp(u, self.u_mm, self.v_mm)
        below = u < self.u_mm[0]
        above = u > self.u_mm[-1]
        v = np.where(below, self.v_mm[0] - 2.5 * (self.u_mm[0] - u), v)
        return np.where(above, self.v_mm[-1] - 2.5 * (u - self.u_mm[-1]), v)


def template_hairline(
    face: FaceGeometry,
    px_per_mm: float,
    head: HeadModel,
    *,
    template: str = "classic",
    midpoint_mm: float = 80.0,
    widows_peak: bool = False,
    receded_temples: bool = False,
    irregularity_mm: float = 1.0,
    seed: int = 0,
) -> Hairline:
    """A template hairline placed on the photo through the head model.

    Temple corners sit on the verticals through the outer eye corners; asymmetry and the
    micro-irregularity come from ``seed``.
    """
    rng = np.random.default_rng(seed + 17)
    left, right = temple_corners_u_mm(face, px_per_mm)
    asym = float(rng.uniform(-1.0, 1.0)) * min(MAX_ASYMMETRY_MM, 0.5 + irregularity_mm)
    span = max(abs(left), abs(right))
    u = np.linspace(-span * 1.35, span * 1.35, 601)
    skin = hairline_height_mm(u, template=template, midpoint_mm=midpoint_mm, temple_u_mm=(left, right),
                              rng=rng, irregularity_mm=irregularity_mm, widows_peak=widows_peak,
                              receded_temples=receded_temples, asymmetry_mm=asym)
    return Hairline(u, head.image_height_mm(skin), midpoint_mm)


def custom_hairline(
    points_px: np.ndarray,
    face: FaceGeometry | None,
    px_per_mm: float,
    *,
    smoothing_mm: float = 4.0,
    irregularity_mm: float = 0.0,
    seed: int = 0,
) -> Hairline:
    """A hairline through points the consultant placed on the photo (pixel coordinates).

    The points are put into the face frame, ordered from image left to right, joined by a
    piecewise-linear curve sampled every 0.25 mm and smoothed with a Gaussian of
    ``smoothing_mm``; ``irregularity_mm`` adds the same micro-irregularity as the templates.
    Without a face the image axes are the frame (origin at the top-left corner).
    """
    pts = np.asarray(points_px, np.float64).reshape(-1, 2)
    if len(pts) < 2:
        raise ValueError("A custom hairline needs at least 2 points.")
    if face is not None:
        g, r, up = face.glabella.astype(np.float64), face.right.astype(np.float64), face.up.astype(np.float64)
    else:
        g, r, up = np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, -1.0])
    u = (pts - g) @ r / px_per_mm
    v = (pts - g) @ up / px_per_mm
    order = np.argsort(u)
    u, v = u[order], v[order]
    keep = np.concatenate([[True], np.diff(u) > 1e-6])
    u, v = u[keep], v[keep]
    if len(u) < 2:
        raise ValueError("The custom hairline points must not all lie on one vertical line.")
    uu = np.arange(u[0], u[-1] + 0.25, 0.25)
    vv = np.interp(uu, u, v)
    if smoothing_mm > 0 and len(uu) > 3:
        from scipy.ndimage import gaussian_filter1d

        vv = gaussian_filter1d(vv, smoothing_mm / 0.25, mode="nearest")
    if irregularity_mm > 0:
        vv = vv + _wobble(uu, np.random.default_rng(seed + 17).uniform(0, 2 * np.pi, size=4), irregularity_mm)
    return Hairline(uu, vv, None)


def parse_points(text: str) -> tuple[tuple[float, float], ...]:
    """``"x1,y1;x2,y2;..."`` (pixels) -> ((x1, y1), (x2, y2), ...)."""
    out = []
    for part in str(text).replace(" ", "").strip(";").split(";"):
        xy = part.split(",")
        if len(xy) != 2:
            raise ValueError(f"Hairline point {part!r} is not 'x,y'.")
        out.append((float(xy[0]), float(xy[1])))
    return tuple(out)


SKULL_FIT_MAX_SIDE = 1280
"""The skull outline is fitted on the label map reduced to at most this many pixels."""
SKULL_WIDTH_PER_FACE = 0.53
"""Skull half-breadth over the face-oval width (landmarks 234-454); 0.50-0.56 on bald house photos."""


@dataclass(frozen=True)
class SkullOutline:
    """The skull's outline in a frontal view: an ellipse in the face frame, mm.

    Centre at ``(centre_u_mm, 0)`` (the glabella's height), half-width ``half_width_mm``,
    reaching ``top_mm`` above the glabella. ``top_source`` says how the top was found:
    ``"scalp"`` (bald top seen against the background), ``"hair"`` (hair on top, an allowance
    subtracted) or ``"prior"``.
    """

    centre_u_mm: float
    half_width_mm: float
    top_mm: float
    top_source: str

    def inside(self, u_mm: np.ndarray, v_mm: np.ndarray) -> np.ndarray:
        """Inside the outline above the glabella's height (below it: everything counts)."""
        r = ((u_mm - self.centre_u_mm) / self.half_width_mm) ** 2 + (np.maximum(v_mm, 0) / self.top_mm) ** 2
        return r <= 1.0


def face_frame(face: FaceGeometry, shape: tuple[int, int], px_per_mm: float,
               box: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(u, v)`` in mm of every pixel of ``box`` (y0, y1, x0, x1; default the whole image)."""
    y0, y1, x0, x1 = box if box is not None else (0, shape[0], 0, shape[1])
    # the same operations per pixel as on full coordinate grids, on a row and a column broadcast
    xs = np.arange(x0, x1, dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    g, up, r = face.glabella, face.up, face.right
    u = ((xs - g[0]) * r[0] + (ys - g[1]) * r[1]) / px_per_mm
    v = ((xs - g[0]) * up[0] + (ys - g[1]) * up[1]) / px_per_mm
    return u, v


def fit_skull(labels: np.ndarray, face: FaceGeometry, px_per_mm: float) -> SkullOutline:
    """Fit the skull outline to the head's silhouette in the label map.

    Silhouette points backed by scalp skin are data; where hair stands out (fringe, top) the
    outline follows the priors: half-width `SKULL_WIDTH_PER_FACE` x face-oval width, centre on
    the face's midline, top from the highest silhouette point near the midline (minus
    `HAIR_ALLOWANCE_MM` when that point is hair).
    """
    import dataclasses

    import cv2
    from scipy.optimize import least_squares

    from .segment import BACKGROUND, HAIR, SCALP

    f = SKULL_FIT_MAX_SIDE / max(labels.shape)
    if f < 1.0:  # the outline is smooth and in mm: fit it on a reduced label map
        size = (max(1, round(labels.shape[1] * f)), max(1, round(labels.shape[0] * f)))
        labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
        face = dataclasses.replace(face, landmarks_px=face.landmarks_px * np.float32(f), px_per_mm=face.px_per_mm * f)
        px_per_mm = px_per_mm * f
    s = px_per_mm
    u, v = face_frame(face, labels.shape, s)
    fg = labels != BACKGROUND
    oval_w = float(np.linalg.norm(face.point(234) - face.point(454))) / s
    mid = face.point(234) + face.point(454)
    centre0 = float(((mid / 2) - face.glabella) @ face.right) / s
    w0 = SKULL_WIDTH_PER_FACE * oval_w
    # Highest foreground point near the midline.
    near = fg & (np.abs(u - centre0) < 12.0) & (v > 0)
    if near.any():
        top_obs = float(v[near].max())
        # What lies 2-8 mm under the top near the midline: hair or bare scalp?
        band = near & (v > top_obs - 8.0) & (v < top_obs - 2.0)
        n_hair, n_scalp = int((labels[band] == HAIR).sum()), int((labels[band] == SCALP).sum())
        top_is_hair = n_hair >= n_scalp
    else:
        top_obs, top_is_hair = HEAD_TOP_PRIOR_MM, True
    if top_obs >= v.max() - 1.0:  # the head runs out of the photo at the top
        top0, source = max(top_obs, HEAD_TOP_PRIOR_MM), "prior"
    elif top_is_hair:
        top0, source = top_obs - HAIR_ALLOWANCE_MM, "hair"
    else:
        top0, source = top_obs, "scalp"
    # Silhouette points backed by scalp skin, above the brows.
    edge = fg & ~cv2.erode(fg.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    scalp_near = cv2.dilate((labels == SCALP).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    hair_near = cv2.dilate((labels == HAIR).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    pts = edge & scalp_near & ~hair_near & (v > 15.0)
    pu, pv = u[pts].astype(np.float64), v[pts].astype(np.float64)
    if pu.size > 400:
        sel = np.random.default_rng(0).choice(pu.size, 400, replace=False)
        pu, pv = pu[sel], pv[sel]
    # The outer edge of hair against the background: the skull lies inside it.
    hair_edge = edge & hair_near & (v > 15.0)
    hu, hv = u[hair_edge].astype(np.float64), v[hair_edge].astype(np.float64)
    if hu.size > 400:
        sel = np.random.default_rng(1).choice(hu.size, 400, replace=False)
        hu, hv = hu[sel], hv[sel]
    sd_top = 3.0 if source == "scalp" else 8.0
    w_data = 1.0 / max(1.0, np.sqrt(pu.size / 40.0))  # at most the weight of ~40 independent points
    w_hair = 1.0 / max(1.0, np.sqrt(hu.size / 40.0))

    def residual(p):
        cu, hw, top = p
        scale = (hw + top) / 2  # mm per unit of the normalised radius
        r = (np.sqrt(((pu - cu) / hw) ** 2 + (pv / top) ** 2) - 1.0) * scale
        data = r / 2.0 * w_data  # bare silhouette points on the outline, sd 2 mm
        rh = (np.sqrt(((hu - cu) / hw) ** 2 + (hv / top) ** 2) - 1.0) * scale
        beyond = np.maximum(0.0, -rh) / 1.0 * w_hair  # the hair edge is never inside the skull
        prior = [(cu - centre0) / 5.0, (hw - w0) / 6.0, (top - top0) / sd_top]
        return np.concatenate([data, beyond, prior])

    x0 = np.array([centre0, w0, max(top0, 50.0)])
    fit = least_squares(residual, x0, bounds=([centre0 - 30, 50.0, 50.0], [centre0 + 30, 110.0, 160.0]))
    cu, hw, top = (float(x) for x in fit.x)
    return SkullOutline(cu, hw, top, source)


def fit_head_model(labels: np.ndarray, face: FaceGeometry, px_per_mm: float,
                   skull: SkullOutline | None = None) -> HeadModel:
    """The `HeadModel` whose silhouette matches the fitted skull top at the face's pitch."""
    skull = skull or fit_skull(labels, face, px_per_mm)
    return head_model_for_top(skull.top_mm, forehead_inclination_deg(face), pitch_deg=face.pitch_deg)
