"""The whole pipeline: photo + settings -> preview, report and zone mask.

>>> from smp_preview import preview
>>> p = preview.preview_file("samples/biden.jpg", preview.Settings(density_per_cm2=80))  # doctest: +SKIP
>>> p.report["dot_count"]  # doctest: +SKIP
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .analysis import HeadAnalysis, analyse
from .compose import add_label, side_by_side
from .models import Models
from .photo import Photo, load_photo
from .pigment import floor_of, head_ellipse_of, render_dots
from .settings import Settings
from .stipple import Dots, stipple
from .zones import Zones, build_zones, check_mask


@dataclass(frozen=True, eq=False)
class Preview:
    """A rendered preview: the labelled after image, what changed, and the figures."""

    before: np.ndarray
    after: np.ndarray  # carries the visible simulation label
    changed: np.ndarray  # bool, every pixel that may differ from ``before`` (zone + label)
    zones: Zones
    dots: Dots
    report: dict = field(default_factory=dict)

    def comparison(self) -> np.ndarray:
        return side_by_side(self.before, self.after)


def achieved_density(dots: Dots, zones: Zones, px_per_mm: float) -> float:
    """Dots per cm² counted where the target density is at its full value."""
    y0, y1, x0, x1 = zones.bbox
    full = zones.full
    area_cm2 = float(full.sum()) / (px_per_mm * 10.0) ** 2
    if area_cm2 <= 0 or len(dots) == 0:
        return 0.0
    ix = np.clip(dots.xy[:, 0].astype(np.int64) - x0, 0, x1 - x0 - 1)
    iy = np.clip(dots.xy[:, 1].astype(np.int64) - y0, 0, y1 - y0 - 1)
    return float(full[iy, ix].sum()) / area_cm2


_PER_ANALYSIS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""The skull ellipse and the darkest-hair floor of each analysed photo (they need full-size passes)."""


def render(analysis: HeadAnalysis, settings: Settings, *, scars: np.ndarray | None = None,
           exclude: np.ndarray | None = None) -> Preview:
    """Design, stipple and render one preview from a cached analysis (cheap: no models run).

    ``exclude`` (bool, the photo's size) marks areas to leave untouched: no dots there, and every
    pixel of it but the simulation label is the photo's own (the shaved look stops at it too).
    """
    t = {}
    t0 = time.perf_counter()
    s = settings.px_per_mm or analysis.px_per_mm
    exclude = check_mask(exclude, analysis.labels.shape, "mask of areas to leave untouched")
    zones = build_zones(analysis, settings, scars, exclude)
    if exclude is not None and not exclude.any():
        exclude = None
    t["design"] = (time.perf_counter() - t0) * 1e3
    t1 = time.perf_counter()
    y0, y1, x0, x1 = zones.bbox
    all_dots = stipple(zones.density, s, origin_xy=(x0, y0), seed=settings.seed,
                       sessions=settings.planned_sessions)
    dots = all_dots.upto(settings.shown_session)
    t["stipple"] = (time.perf_counter() - t1) * 1e3
    t2 = time.perf_counter()
    base = analysis.rgb
    if zones.shave is not None:  # the shaved look: hair -> shaved scalp and background first
        from .shave import shaved_photo

        base = shaved_photo(analysis.rgb, analysis.labels, zones.shave, s)
    geo = _PER_ANALYSIS.get(analysis)
    if geo is None:  # no setting changes these: measure them once per analysed photo
        geo = _PER_ANALYSIS[analysis] = {"ellipse": head_ellipse_of(analysis), "floor": floor_of(analysis)}
    after, touched = render_dots(base, dots, zones.mask, zones.bbox, s,
                                 dot_size_mm=settings.dot_size_mm, shade=settings.shade, look=settings.look,
                                 scars=zones.scars, seed=settings.seed,
                                 session_darkening=settings.session_darkening,
                                 head_ellipse=geo["ellipse"], floor_rgb=geo["floor"])
    t["pigment"] = (time.perf_counter() - t2) * 1e3
    t3 = time.perf_counter()
    shaved = zones.shave.changed if zones.shave is not None else None
    if exclude is not None:  # dots spread over their edge and the shaved look fills across it
        ys, xs = np.flatnonzero(exclude.any(axis=1)), np.flatnonzero(exclude.any(axis=0))
        box = (slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1))
        np.copyto(after[box], analysis.rgb[box], where=exclude[box][..., None])
        shaved = shaved & ~exclude if shaved is not None else None
    after, label_mask = add_label(after, inplace=True)  # render_dots returned a fresh copy
    changed = zones.full_mask(analysis.rgb.shape[:2]) | label_mask
    if shaved is not None:
        changed |= shaved
    if exclude is not None:
        changed &= ~exclude | label_mask
    t["compose"] = (time.perf_counter() - t3) * 1e3
    report = {
        "photo": analysis.photo.name,
        "width_px": int(analysis.rgb.shape[1]),
        "height_px": int(analysis.rgb.shape[0]),
        "px_per_mm": round(float(s), 4),
        "scale_source": "user" if settings.px_per_mm else analysis.scale_source,
        # the head is cut off at both sides and no arc of its outline fitted: the scale assumes the
        # photo is as wide as the head, and the true one is larger (measure it: --px-per-mm)
        "scale_lower_bound": bool(analysis.scale_lower_bound and not settings.px_per_mm),
        # black and white or toned: grey or white hair may have been taken for scalp
        "monochrome": bool(analysis.monochrome),
        "treated_area_cm2": round(zones.area_cm2(s), 2),
        "dot_count": int(len(dots)),
        "density_per_cm2": round(achieved_density(dots, zones, s), 2),
        "target_density_per_cm2": float(settings.density_per_cm2) * _session_share(settings),
        "session": settings.shown_session,
        "sessions": settings.planned_sessions,
        "settings": settings.as_dict(),
        "face_found": analysis.face is not None,
        "timings_ms": {**{f"analysis_{k}": round(v, 1) for k, v in analysis.timings_ms.items()},
                       **{k: round(v, 1) for k, v in t.items()}},
    }
    if zones.head is not None:
        report["head_model_mm"] = {"top": round(zones.head.silhouette_top_mm(), 1),
                                   "radius": round(zones.head.radius_mm, 1),
                                   "forehead_inclination_deg": round(zones.head.inclination_deg, 1)}
    if zones.hairline is not None:
        mid = float(zones.hairline.image_height_mm(np.array([0.0]))[0])
        report["hairline_midpoint_mm"] = {
            "image_height": round(mid, 1),
            "along_skin": round(float(zones.head.along_skin_mm(mid)), 1) if zones.head is not None else None,
            "custom": bool(settings.hairline_points),
        }
    if shaved is not None:
        report["shaved_area_cm2"] = round(float(shaved.sum()) / (s * 10.0) ** 2, 2)
    if exclude is not None:
        report["excluded_area_cm2"] = round(float(exclude.sum()) / (s * 10.0) ** 2, 2)
    if analysis.face is not None:
        f = analysis.face
        report["pose_deg"] = {"yaw": round(f.yaw_deg, 1), "pitch": round(f.pitch_deg, 1), "roll": round(f.roll_deg, 1)}
    return Preview(analysis.rgb, after, changed, zones, dots, report)


def _session_share(settings: Settings) -> float:
    from .stipple import SESSION_LAYERS

    return float(SESSION_LAYERS[settings.planned_sessions][settings.shown_session - 1])


def preview_photo(photo: Photo, settings: Settings = Settings(), *, models: Models | None = None,
                  scars: np.ndarray | None = None, exclude: np.ndarray | None = None) -> Preview:
    """Analyse and render in one call."""
    analysis = analyse(photo, models, px_per_mm=settings.px_per_mm)
    return render(analysis, settings, scars=scars, exclude=exclude)


def preview_file(path: str | Path, settings: Settings = Settings(), **kw) -> Preview:
    return preview_photo(load_photo(path), settings, **kw)
