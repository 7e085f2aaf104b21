"""The treatment settings, defined once for the API, CLI, app and batch presets.

Units are in the names: millimetres (``_mm``), dots per square centimetre (``_per_cm2``).
Defaults and limits follow the SMP literature (see the README's domain notes).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace

from .errors import BadSetting

NATURAL_DENSITY_PER_CM2 = 100.0
"""A typical adult's follicular units per cm²; ``60%`` density means 60 per cm²."""

HAIRLINE_TEMPLATES = ("classic", "straight", "mature", "widows_peak")
HAIRLINE_STYLES = ("soft", "faded", "defined")
MODES = ("full", "thinning", "hairline", "scars")
LOOK_FIXED = ("fresh", "healed")


def parse_density(text: str | float | int) -> float:
    """``"80"`` -> 80 dots/cm²; ``"60%"`` -> 60 % of a natural 100/cm²."""
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip()
    try:
        if s.endswith("%"):
            return float(s[:-1]) / 100.0 * NATURAL_DENSITY_PER_CM2
        return float(s)
    except ValueError:
        raise BadSetting(
            f"Density {text!r} is not a number.",
            "Give dots per cm² (for example 80) or a percentage of natural density (for example 60%).",
        ) from None


def parse_look(text: str) -> tuple[str, float]:
    """``fresh`` / ``healed`` / ``years:N`` -> (kind, years)."""
    s = str(text).strip().lower()
    if s in LOOK_FIXED:
        return s, 0.0
    m = re.fullmatch(r"years?:(\d+(\.\d+)?)", s)
    if m:
        return "years", float(m.group(1))
    raise BadSetting(f"Look {text!r} is not known.", "Use fresh, healed or years:N (for example years:5).")


@dataclass(frozen=True)
class Settings:
    """One preview's settings. Every field has a unit and a checked range.

    Attributes
    ----------
    density_per_cm2 : dots per cm² at full density (natural scalp: about 100).
    dot_size_mm : diameter of a healed dot, mm (healed impressions 0.1-0.3 mm).
    shade : a named dilution (see `pigment.SHADES`) or a hex colour ``#rrggbb``.
    hairline : template name.
    hairline_style : soft, faded or defined.
    hairline_height_mm : front midpoint above the glabella, along the skin (60-110 mm).
    mode : full (whole scalp behind the hairline), thinning, hairline, scars.
    sessions : sessions planned (1-4).
    session : which session's result to show (1..sessions); None means the last.
    look : fresh, healed or years:N.
    seed : random seed; the same seed gives the same dots.
    px_per_mm : a measured scale overriding the iris (None: from the photo).
    hairline_points : a custom hairline through these image points ((x, y) pixels, at least
        2, any order along the line); overrides the template. None: the template.
    widows_peak : add a widow's peak to the template (the peak's tip is at hairline_height_mm).
    receded_temples : raise the temple corners (a mature, receded-temples variant).
    shave : the shaved look: remaining head hair becomes shaved scalp with stubble.
    session_darkening : each later session's dots this much darker (0.1 = +10 % per session, 0-0.5).
    """

    density_per_cm2: float = 80.0
    dot_size_mm: float = 0.30
    shade: str = "medium"
    hairline: str = "classic"
    hairline_style: str = "soft"
    hairline_height_mm: float = 80.0
    mode: str = "full"
    sessions: int = 3
    session: int | None = None
    look: str = "healed"
    seed: int = 0
    px_per_mm: float | None = None
    hairline_points: tuple[tuple[float, float], ...] | None = None
    widows_peak: bool = False
    receded_temples: bool = False
    shave: bool = False
    session_darkening: float = 0.0

    def __post_init__(self) -> None:
        _check(10.0 <= self.density_per_cm2 <= 200.0, "density_per_cm2", self.density_per_cm2,
               "between 10 and 200 dots per cm² (natural scalp is about 100)")
        _check(0.05 <= self.dot_size_mm <= 1.0, "dot_size_mm", self.dot_size_mm, "between 0.05 and 1.0 mm")
        _check(60.0 <= self.hairline_height_mm <= 110.0, "hairline_height_mm", self.hairline_height_mm,
               "between 60 and 110 mm above the glabella")
        _check(self.hairline in HAIRLINE_TEMPLATES, "hairline", self.hairline, f"one of {', '.join(HAIRLINE_TEMPLATES)}")
        _check(self.hairline_style in HAIRLINE_STYLES, "hairline_style", self.hairline_style,
               f"one of {', '.join(HAIRLINE_STYLES)}")
        _check(self.mode in MODES, "mode", self.mode, f"one of {', '.join(MODES)}")
        _check(1 <= int(self.sessions) <= 4, "sessions", self.sessions, "between 1 and 4")
        if self.session is not None:
            _check(1 <= int(self.session) <= 4, "session", self.session, "between 1 and 4")
        parse_look(self.look)
        from .pigment import parse_shade

        parse_shade(self.shade)
        _check(0.0 <= self.session_darkening <= 0.5, "session_darkening", self.session_darkening,
               "between 0 and 0.5 (0.1 = each session 10 % darker)")
        if self.px_per_mm is not None:
            _check(0.3 <= self.px_per_mm <= 200.0, "px_per_mm", self.px_per_mm, "between 0.3 and 200")
        if self.hairline_points is not None:
            object.__setattr__(self, "hairline_points", _points(self.hairline_points))

    @property
    def planned_sessions(self) -> int:
        """Sessions in the plan: ``sessions``, or more if a later ``session`` is asked for."""
        return max(int(self.sessions), int(self.session or 0))

    @property
    def shown_session(self) -> int:
        """The session whose result is shown (default: the last, the finished result)."""
        return int(self.session or self.sessions)

    def replace(self, **changes) -> Settings:
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _check(ok: bool, name: str, value, allowed: str) -> None:
    if not ok:
        raise BadSetting(f"{name} = {value!r} is out of range.", f"It must be {allowed}.")


def _points(points) -> tuple[tuple[float, float], ...]:
    """Custom hairline points as a tuple of (x, y) pixel pairs (hashable, so Settings stays frozen)."""
    if isinstance(points, str):
        from .hairline import parse_points

        try:
            points = parse_points(points)
        except ValueError as exc:
            raise BadSetting(f"hairline_points: {exc}", "Give points as x1,y1;x2,y2;... in pixels.") from None
    try:
        pts = tuple((float(x), float(y)) for x, y in points)
    except (TypeError, ValueError):
        raise BadSetting(f"hairline_points = {points!r} is not a list of (x, y) pixel points.",
                         "Give points as x1,y1;x2,y2;... in pixels.") from None
    _check(len(pts) >= 2, "hairline_points", points, "at least 2 points")
    _check(len({x for x, _ in pts}) >= 2, "hairline_points", points, "points that are not all on one vertical line")
    _check(all(math.isfinite(x) and math.isfinite(y) for x, y in pts), "hairline_points", points,
           "finite pixel coordinates")
    return pts
