"""The app's logic that is not widgets: presets, the treatment plan, the timeline, display
helpers, the before/after slider, friendly messages and optional pipeline features.

Kept out of ``app.py`` so the app stays a thin script (widgets in, preview out) and so this
logic is tested without a browser. Nothing here imports Streamlit.
"""

from __future__ import annotations

import base64
import html
import importlib
import io
import math
import os
from dataclasses import dataclass, fields

import cv2
import numpy as np
from PIL import Image

from .errors import (
    NoHeadFound,
    PreviewError,
    SeveralFaces,
    TooDark,
    TooLarge,
    TooSmall,
    UnreadableFile,
    UnsupportedFormat,
)
from .pigment import SHADES
from .settings import NATURAL_DENSITY_PER_CM2, Settings

UPLOAD_TYPES = ("jpg", "jpeg", "png", "webp", "heic", "heif")
"""File types the app's uploaders accept (HEIC/HEIF from phones once `photo` decodes them)."""

DISPLAY_MAX_SIDE_PX = 1400
"""Images sent to the browser are reduced to this long side (the full size is for downloads)."""

KIOSK_IDLE_SECONDS = float(os.environ.get("SMP_KIOSK_IDLE_SECONDS", "120"))
"""A kiosk session with no interaction for this long is cleared (client's photo dropped)."""

# Hours per session (domain.md: 2-5 h) grow with the treated area: a hairline alone is a short
# session, a whole crown a long one. The visible area of a frontal photo understates the head.
HOURS_MIN, HOURS_MAX = 2.0, 5.0
WEEKS_BETWEEN_SESSIONS = (3, 4)
MONOCHROME_NOTE = ("This photo is black and white: hair is told from skin by colour, so grey or white hair "
                   "may have been taken for scalp and dotted. A colour photo gives a truer preview.")
"""Shown with a black-and-white or toned photo (`HeadAnalysis.monochrome`)."""

AFTERCARE = (
    ("Before each session: a clean scalp, no hair products. Numbing cream is applied about "
     "30 minutes before; most clients find it less painful than a tattoo."),
    "Some redness and swelling afterwards is normal.",
    ("After each session: no swimming, hot baths or saunas, heavy sweating or direct sun until "
     "healed; these fade the pigment."),
    ("Fresh dots look darker and larger; after about a week they become smaller and lighter, and "
     "the colour settles in about a month. The lightening after session 1 is expected."),
    ("Results last about 3-6 years with care (sun protection); pigment lightens without changing "
     "colour and is restored by a touch-up."),
)


# --- settings and the pipeline's suggestions ------------------------------------------------

def optional(module: str, name: str):
    """``module.name`` if that module defines it, else None (a feature not there yet)."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def settings_fields() -> set[str]:
    return {f.name for f in fields(Settings)}


def make_settings(**values) -> Settings:
    """`Settings` from the app's values, leaving out fields this version does not have."""
    known = settings_fields()
    return Settings(**{k: v for k, v in values.items() if k in known and v is not None})


def suggest_shade(analysis) -> tuple[str | None, str]:
    """`pigment.suggest_shade` for this client: (shade name, reason), or (None, "") if it fails."""
    from .pigment import suggest_shade as suggest

    try:
        shade, reason = suggest(analysis)
    except Exception:  # noqa: BLE001 - a suggestion must never break the consultation
        return None, ""
    return (str(shade) if shade else None), str(reason or "")


def suggest_scars(analysis) -> list[np.ndarray]:
    """`zones.suggest_scars` as full-size boolean masks (one per scar), or none if it fails."""
    from .zones import suggest_scars as suggest

    try:
        return [np.asarray(c.mask, bool) for c in suggest(analysis)]
    except Exception:  # noqa: BLE001 - a suggestion must never break the consultation
        return []


# --- numbers beside the picture ---------------------------------------------------------------

def density_percent(density_per_cm2: float) -> float:
    return 100.0 * density_per_cm2 / NATURAL_DENSITY_PER_CM2


def density_from_percent(percent: float) -> float:
    return percent / 100.0 * NATURAL_DENSITY_PER_CM2


@dataclass(frozen=True)
class Plan:
    """An estimate of the treatment from the treated area and the settings (domain.md)."""

    sessions: int
    hours_per_session: tuple[float, float]
    weeks_between: tuple[int, int]
    treated_area_cm2: float

    @property
    def total_hours(self) -> tuple[float, float]:
        return self.hours_per_session[0] * self.sessions, self.hours_per_session[1] * self.sessions

    @property
    def weeks_total(self) -> tuple[int, int]:
        return (self.sessions - 1) * self.weeks_between[0], (self.sessions - 1) * self.weeks_between[1]

    def summary(self) -> str:
        h0, h1 = self.hours_per_session
        w0, w1 = self.weeks_between
        s = f"{self.sessions} session{'s' if self.sessions > 1 else ''} of {h0:g}-{h1:g} h"
        if self.sessions > 1:
            s += f", {w0}-{w1} weeks apart"
        return s


def estimate_plan(report: dict, settings: Settings) -> Plan:
    """Sessions and hours for the area treated in ``report`` with ``settings``.

    Hours per session scale with the treated area seen in the photo: about 2 h for a hairline
    or a scar (under 40 cm²) up to 4-5 h for a whole scalp (300 cm² or more); a range of one
    hour is given because speed differs between artists. Sessions are the planned ones.
    """
    area = float(report.get("treated_area_cm2", 0.0))
    mid = HOURS_MIN + (HOURS_MAX - HOURS_MIN) * min(1.0, max(0.0, (area - 40.0) / 260.0))
    lo = min(HOURS_MAX - 1.0, max(HOURS_MIN, math.floor(mid * 2) / 2 - 0.5))
    return Plan(settings.planned_sessions, (lo, lo + 1.0), WEEKS_BETWEEN_SESSIONS, area)


SCALE_SOURCES = {
    "iris": "iris width (11.7 mm)",
    "ipd": "distance between the pupils (63 mm)",
    "head_width": "assumed head width (15 cm)",
    "user": "consultant's measurement",
}


def describe_scale_source(source: str) -> str:
    return SCALE_SOURCES.get(source, source.replace("_", " "))


# --- presets and the timeline ------------------------------------------------------------------

PRESETS = {
    "natural": {"density_per_cm2": 55.0, "dot_size_mm": 0.25, "hairline": "mature", "hairline_style": "soft",
                "hairline_height_mm": 88.0, "shade_step": -1},
    "fuller": {"density_per_cm2": 80.0, "dot_size_mm": 0.30, "hairline": "classic", "hairline_style": "soft",
               "hairline_height_mm": 80.0, "shade_step": 0},
    "bold": {"density_per_cm2": 110.0, "dot_size_mm": 0.35, "hairline": "straight", "hairline_style": "defined",
             "hairline_height_mm": 74.0, "shade_step": 1},
}
"""The kiosk's three looks: a soft, light, receded natural; a full classic; a dense, dark, low
edge-up. ``shade_step`` moves from the suggested (or medium) shade to lighter or darker."""

PRESET_BLURBS = {
    "natural": "Soft hairline, lighter and subtle",
    "fuller": "Classic hairline, a full buzz-cut look",
    "bold": "Sharp low hairline, dense and dark",
}


def shade_step(shade: str, step: int) -> str:
    names = list(SHADES)
    i = names.index(shade) if shade in names else names.index("medium")
    return names[min(len(names) - 1, max(0, i + step))]


def preset_settings(name: str, *, base_shade: str | None = None, **overrides) -> Settings:
    """Settings of a kiosk preset; ``base_shade`` is the suggested shade (default medium)."""
    p = dict(PRESETS[name])
    step = p.pop("shade_step")
    return make_settings(shade=shade_step(base_shade or "medium", step), **p, **overrides)


def timeline(settings: Settings, *, years: int = 5) -> list[tuple[str, Settings]]:
    """The stages a client goes through: fresh after each session, healed, after ``years``."""
    n = settings.planned_sessions
    stages = [(f"After session {k} (fresh)", settings.replace(session=k, sessions=n, look="fresh"))
              for k in range(1, n + 1)]
    stages.append(("Healed", settings.replace(session=n, sessions=n, look="healed")))
    stages.append((f"After {years} years", settings.replace(session=n, sessions=n, look=f"years:{years}")))
    return stages


# --- images for the page ------------------------------------------------------------------------

def fit(rgb: np.ndarray, max_side: int = DISPLAY_MAX_SIDE_PX) -> np.ndarray:
    """``rgb`` reduced (area averaging) so its long side is at most ``max_side``."""
    h, w = rgb.shape[:2]
    f = max_side / max(h, w)
    if f >= 1.0:
        return rgb
    return cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


ANALYSIS_LEGEND = ("scalp skin pink, head hair green, other skin peach, beard, glasses and clothes blue; "
                   "the treated zone outlined in white, the hairline yellow, areas left untouched grey")


def analysis_view(analysis, preview, exclude: np.ndarray | None = None,
                  max_side: int = DISPLAY_MAX_SIDE_PX) -> np.ndarray:
    """The photo reduced for the screen with the label map tinted over it, the treated zone
    outlined, the designed hairline drawn and the areas left untouched greyed: for the consultant
    to check what the preview found before showing it (see `compose.overlay_labels`)."""
    from .compose import overlay_labels

    h, w = analysis.rgb.shape[:2]
    small = fit(analysis.rgb, max_side)
    f = small.shape[1] / w
    size = (small.shape[1], small.shape[0])

    def reduce(mask):
        return cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)

    labels = reduce(analysis.labels)
    zone = reduce(preview.zones.full_mask((h, w))).astype(bool)
    hp = np.asarray(getattr(preview.zones, "hairline_px", np.zeros((0, 2))), np.float64) * f
    out = overlay_labels(small, labels, zone=zone, hairline_px=hp)
    if exclude is not None and np.asarray(exclude).any():
        ex = reduce(np.asarray(exclude)).astype(bool)
        grey = out[ex].mean(axis=1, keepdims=True)
        out[ex] = (0.35 * out[ex] + 0.65 * (0.5 * grey + 64)).astype(np.uint8)
    return out


def display_step(shape: tuple[int, ...], max_side: int = DISPLAY_MAX_SIDE_PX) -> int:
    """The whole-number reduction factor that brings the long side to at most ``max_side``.

    A whole number keeps block averages aligned, so a part of the photo reduced alone equals
    the same part of the photo reduced whole (see `shrink_after`)."""
    return max(1, math.ceil(max(shape[:2]) / max_side))


def shrink(rgb: np.ndarray, step: int) -> np.ndarray:
    """Average ``step`` x ``step`` blocks (a last partial row or column of blocks is dropped)."""
    if step == 1:
        return rgb
    h, w = rgb.shape[:2]
    return cv2.resize(rgb[: h // step * step, : w // step * step], (w // step, h // step),
                      interpolation=cv2.INTER_AREA)


def shrink_after(before_small: np.ndarray, preview, step: int) -> np.ndarray:
    """``shrink(preview.after, step)`` computed only where the render can differ from the photo
    (the treated zone's box and the simulation label), pasted into the reduced before image:
    a slider change then costs a few ms instead of reducing the whole 12 MP image again."""
    if step == 1:
        return preview.after
    from .compose import label_box

    h, w = preview.after.shape[:2]
    hb, wb = h // step * step, w // step * step
    out = before_small.copy()
    ly0, ly1, lx0, lx1 = label_box((h, w))[:4]
    for y0, y1, x0, x1 in (tuple(int(v) for v in preview.zones.bbox), (ly0, ly1, lx0, lx1)):
        ya, xa = y0 // step * step, x0 // step * step
        yb, xb = min(hb, -(-y1 // step) * step), min(wb, -(-x1 // step) * step)
        if yb > ya and xb > xa:
            out[ya // step: yb // step, xa // step: xb // step] = shrink(preview.after[ya:yb, xa:xb], step)
    return out


def encode(rgb: np.ndarray, fmt: str = "PNG", *, quality: int = 90) -> bytes:
    """PNG or JPEG bytes of an RGB image."""
    if fmt.upper() not in ("JPG", "JPEG"):  # compose's PNG writer: several times faster than PIL's
        from .compose import encode_image

        return bytes(encode_image(rgb, ".png"))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def head_box(preview, *, margin: float = 0.3, aspect: float = 1.25) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of a portrait window (height = ``aspect`` x width) around the treated
    zone and the designed hairline, with the face below it: for the sheet and close views."""
    h, w = preview.before.shape[:2]
    ys, xs = [], []
    y0, y1, x0, x1 = (int(v) for v in preview.zones.bbox)
    if preview.zones.mask.any():
        ys += [y0, y1]
        xs += [x0, x1]
    hp = np.asarray(getattr(preview.zones, "hairline_px", np.zeros((0, 2))))
    if hp.size:
        xs += [int(hp[:, 0].min()), int(hp[:, 0].max())]
        ys += [int(hp[:, 1].min()), int(hp[:, 1].max())]
    if not ys:
        return 0, h, 0, w
    by0, by1, bx0, bx1 = min(ys), max(ys), min(xs), max(xs)
    bw = (bx1 - bx0) * (1 + 2 * margin)
    bh = max(bw * aspect, (by1 - by0) * (1 + 2 * margin))
    cx = (bx0 + bx1) / 2
    top = by0 - (by1 - by0) * margin
    left = cx - bw / 2
    return (max(0, int(top)), min(h, int(top + bh)), max(0, int(left)), min(w, int(left + bw)))


def zoom_box(preview, *, size_px: int = 640) -> tuple[int, int, int, int]:
    """A window of about ``size_px`` (capped by the photo) at full resolution, centred on the
    densest part of the treated zone: for judging the dots at 100 %."""
    h, w = preview.before.shape[:2]
    y0, _, x0, _ = (int(v) for v in preview.zones.bbox)
    dens = preview.zones.density
    if dens.size and dens.max() > 0:
        ys, xs = np.nonzero(dens >= dens.max() * 0.99)
        cy, cx = y0 + int(np.median(ys)), x0 + int(np.median(xs))
    else:
        cy, cx = h // 3, w // 2
    sh, sw = min(h, int(size_px * 0.75)), min(w, size_px)
    top = min(max(0, cy - sh // 2), h - sh)
    left = min(max(0, cx - sw // 2), w - sw)
    return top, top + sh, left, left + sw


def crop(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    y0, y1, x0, x1 = box
    return rgb[y0:y1, x0:x1]


def comparison_slider_html(before: np.ndarray, after: np.ndarray, *, height_px: int = 620) -> str:
    """A self-contained before/after slider (inline images and script; no outside requests).

    The after image is drawn over the before image and clipped at the handle; drag anywhere on
    the picture or use the range input (keyboard accessible) to move it.
    """
    h, w = before.shape[:2]
    b64 = {k: base64.b64encode(encode(fit(v, 1600), "JPEG", quality=88)).decode("ascii")
           for k, v in (("before", before), ("after", after))}
    ratio = w / h
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
html,body{{margin:0;padding:0;background:transparent;font-family:sans-serif}}
#wrap{{position:relative;margin:0 auto;height:{height_px - 40}px;max-width:100%;aspect-ratio:{ratio:.5f};
 user-select:none;touch-action:none;cursor:ew-resize}}
#wrap img{{position:absolute;inset:0;width:100%;height:100%;object-fit:contain;pointer-events:none}}
#after{{clip-path:inset(0 0 0 50%)}}
#bar{{position:absolute;top:0;bottom:0;left:50%;width:3px;margin-left:-1px;background:#fff;box-shadow:0 0 4px #000}}
.tag{{position:absolute;top:8px;padding:3px 8px;background:rgba(20,20,20,.75);color:#fff;font-size:13px;border-radius:3px}}
#range{{display:block;width:60%;margin:8px auto 0}}
</style></head><body>
<div id="wrap" title="Drag to compare">
<img id="before" alt="Before" src="data:image/jpeg;base64,{b64['before']}">
<img id="after" alt="After (simulation)" src="data:image/jpeg;base64,{b64['after']}">
<div id="bar"></div><span class="tag" style="left:8px">Before</span>
<span class="tag" style="right:8px">After ({html.escape("simulation")})</span></div>
<input id="range" type="range" min="0" max="100" value="50" aria-label="Before/after position">
<script>
const wrap=document.getElementById('wrap'),after=document.getElementById('after'),
 bar=document.getElementById('bar'),range=document.getElementById('range');
function put(p){{p=Math.max(0,Math.min(100,p));after.style.clipPath='inset(0 0 0 '+p+'%)';
 bar.style.left=p+'%';range.value=p;}}
function at(e){{const r=wrap.getBoundingClientRect();put((e.clientX-r.left)/r.width*100);}}
let down=false;
wrap.addEventListener('pointerdown',e=>{{down=true;wrap.setPointerCapture(e.pointerId);at(e);}});
wrap.addEventListener('pointermove',e=>{{if(down)at(e);}});
wrap.addEventListener('pointerup',()=>{{down=false;}});
range.addEventListener('input',()=>put(+range.value));
</script></body></html>"""


# --- drawings on the photo --------------------------------------------------------------------

def mask_from_drawing(rgba: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray | None:
    """A full-size boolean mask from a drawing's RGBA image (painted where alpha > 0)."""
    if rgba is None:
        return None
    a = np.asarray(rgba)
    a = a[..., 3] if a.ndim == 3 and a.shape[2] == 4 else (a.max(axis=2) if a.ndim == 3 else a)
    if not (a > 0).any():
        return None
    h, w = shape
    return cv2.resize((a > 0).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def mask_from_strokes(json_data: dict | None, scale: float, shape: tuple[int, int]) -> np.ndarray | None:
    """A full-size boolean mask of the brush strokes on a canvas showing the photo at ``scale``.

    Reads the strokes from the canvas's JSON (Fabric.js paths: absolute canvas points, moved by
    the object's position), not from its picture, which includes the photo behind the strokes.
    """
    h, w = shape
    small = np.zeros((max(1, round(h * scale)), max(1, round(w * scale))), np.uint8)
    for obj in (json_data or {}).get("objects", []):
        if str(obj.get("type", "")).lower() != "path" or not obj.get("path"):
            continue
        pts = np.array([c[-2:] for c in obj["path"] if len(c) >= 3], np.float64)
        if not len(pts):
            continue
        sw = float(obj.get("strokeWidth", 1))
        lo, hi = pts.min(axis=0) - sw / 2, pts.max(axis=0) + sw / 2
        size = hi - lo
        pos = np.array([float(obj.get("left", lo[0])), float(obj.get("top", lo[1]))])
        for axis, key in ((0, "originX"), (1, "originY")):
            if obj.get(key) == "center":
                pos[axis] -= size[axis] / 2
        pts = pts + (pos - lo)
        cv2.polylines(small, [np.round(pts).astype(np.int32)], False, 1, max(1, round(sw)), cv2.LINE_8)
    if not small.any():
        return None
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def points_from_drawing(json_data: dict | None, scale: float) -> list[tuple[float, float]]:
    """Photo-pixel (x, y) of the points placed on a canvas showing the photo at ``scale``."""
    pts = []
    for obj in (json_data or {}).get("objects", []):
        if obj.get("type") not in ("circle", "Circle", "point"):
            continue
        r = float(obj.get("radius", 0)) * float(obj.get("scaleX", 1))
        left, top = float(obj.get("left", 0)), float(obj.get("top", 0))
        if obj.get("originX", "left") == "left":
            left += r
        if obj.get("originY", "top") == "top":
            top += r
        pts.append((left / scale, top / scale))
    return sorted(pts)


def mask_from_upload(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """A scar mask from an uploaded image (white or opaque = scar), resized to the photo."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except Exception as exc:
        raise UnsupportedFormat("The scar mask is not an image.",
                                "Upload a PNG where scars are white on black.") from exc
    a = np.asarray(im.convert("LA"))
    m = (a[..., 0] > 127) & (a[..., 1] > 0)
    h, w = shape
    return cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


# --- messages for people ------------------------------------------------------------------------

FRIENDLY = {
    NoHeadFound: ("We couldn't find a face in this photo.",
                  "Face the camera with your whole head in the picture, then try again."),
    SeveralFaces: ("There is more than one person in this photo.",
                   "Please take a photo of just yourself."),
    TooDark: ("This photo is too dark.",
              "Move to better light, facing a window or a lamp, and try again."),
    TooSmall: ("This photo is too small.",
               "Use a larger photo, ideally straight from the camera."),
    TooLarge: ("This photo is too large.",
               "Use a smaller photo (12 megapixels or less)."),
    UnsupportedFormat: ("That file isn't a photo we can use.",
                        "Please use a JPEG, PNG, WebP or HEIC photo."),
    UnreadableFile: ("That file isn't a photo we can use.",
                     "Please use a JPEG, PNG, WebP or HEIC photo."),
}
GENERIC = ("Something went wrong with this photo.", "Please try another photo, or ask a member of staff.")


def friendly_error(exc: BaseException) -> tuple[str, str]:
    """(title, what to do) for a client at the kiosk; never a traceback or a file name."""
    for cls, msg in FRIENDLY.items():
        if isinstance(exc, cls):
            return msg
    if isinstance(exc, PreviewError):
        return exc.message, exc.hint
    return GENERIC


def consultant_error(exc: BaseException) -> str:
    """One line for the consultant: the pipeline's specific message and hint."""
    if isinstance(exc, PreviewError):
        return f"{exc.message} {exc.hint}".strip()
    return f"{GENERIC[0]} ({type(exc).__name__}) {GENERIC[1]}"
