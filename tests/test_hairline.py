"""Hairline design on real photos: placement in mm along the skin, templates, styles, custom curves."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from smp_preview.errors import BadSetting
from smp_preview.hairline import HeadModel, hairline_height_mm, head_model_for_top, parse_points
from smp_preview.settings import Settings
from smp_preview.zones import build_zones

BALD = ["bald_S001224.jpg", "balding_A000055.jpg"]


def _front_midpoint_mm(analysis, zones) -> float:
    """Image height (mm above the glabella) of the first treated pixel up the face's midline."""
    f = analysis.face
    s = analysis.px_per_mm
    dens = zones.density_full(analysis.labels.shape)
    for v in np.arange(0.0, 200.0, 0.1):
        x, y = f.glabella + f.up * v * s
        ix, iy = int(np.floor(x)), int(np.floor(y))
        if iy < 0:
            break
        if dens[iy, ix] > 0:
            return float(v)
    raise AssertionError("no treated pixel on the midline")


def test_head_model_round_trip_and_top():
    m = head_model_for_top(86.0, 6.0)
    s = np.array([0.0, 30.0, 60.0, 80.0, 110.0])
    assert np.allclose(m.along_skin_mm(m.image_height_mm(s)), s, atol=1e-6)
    assert m.silhouette_top_mm() == pytest.approx(86.0, abs=1e-6)
    # The forehead curves away: a height along the skin is shorter in the photo, more so higher up.
    h = m.image_height_mm(s)
    assert (h[1:] < s[1:]).all() and (np.diff(s - h) > 0).all()


def test_head_tipped_back_projects_the_same_skin_height_lower():
    upright = HeadModel(100.0, 5.0)
    tipped_back = HeadModel(100.0, 25.0)  # forehead inclined away from the camera
    assert tipped_back.image_height_mm(80.0) < upright.image_height_mm(80.0) - 5.0


@pytest.mark.parametrize("name", BALD)
@pytest.mark.parametrize("height", [60.0, 80.0, 110.0])
def test_front_midpoint_within_3mm_of_requested_height_along_the_head_model(samples_dir, analysis_of, name, height):
    a = analysis_of(samples_dir / name)
    # defined edge (no leading dots) and shaved look (so the midline is scalp whatever the hair labels say)
    z = build_zones(a, Settings(hairline_height_mm=height, hairline_style="defined", shave=True, seed=4))
    v = _front_midpoint_mm(a, z)
    along = float(z.head.along_skin_mm(v))
    assert along == pytest.approx(height, abs=3.0)
    # the model is fitted to this photo's skull outline: the line sits below the top of the head
    assert v < z.head.silhouette_top_mm()


def test_default_hairline_is_below_the_top_of_the_head_on_bald_photos(samples_dir, analysis_of):
    for name in BALD:
        a = analysis_of(samples_dir / name)
        z = build_zones(a, Settings(hairline_style="defined", shave=True))
        v = _front_midpoint_mm(a, z)
        assert z.head.silhouette_top_mm() - v > 12.0, f"{name}: the 80 mm hairline is near the top of the head"


VARIANTS = [
    {"hairline": "classic"},
    {"hairline": "straight"},
    {"hairline": "mature"},
    {"hairline": "widows_peak"},
    {"hairline": "classic", "receded_temples": True},
    {"hairline": "straight", "widows_peak": True},
]


def test_each_template_gives_a_visibly_different_zone(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "bald_S001224.jpg")
    masks = [build_zones(a, Settings(hairline_style="defined", shave=True, **kw)).full_mask(a.labels.shape)
             for kw in VARIANTS]
    s2 = a.px_per_mm ** 2
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            differ_mm2 = float((masks[i] ^ masks[j]).sum()) / s2
            assert differ_mm2 > 40.0, f"{VARIANTS[i]} and {VARIANTS[j]} differ by only {differ_mm2:.0f} mm²"


def test_styles_differ_at_the_edge(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "bald_S001224.jpg")
    z = {st: build_zones(a, Settings(hairline_style=st, shave=True, density_per_cm2=100)) for st in
         ("soft", "faded", "defined")}
    d = {k: v.density[v.density > 0] for k, v in z.items()}
    # defined: crisp, every treated pixel at full density (the line has no ramp)
    assert (d["defined"] >= 99.9).mean() > 0.99
    # faded: a band of partial density, never below the starting share
    partial = d["faded"][d["faded"] < 99.9]
    assert partial.size > 100 and partial.min() >= 24.9
    # soft/broken: sparse leading dots ahead of the line (low density) and the largest zone
    assert (d["soft"] < 20).sum() > 50
    assert z["soft"].mask.sum() > z["defined"].mask.sum()


@pytest.mark.parametrize("seed", range(6))
def test_hairline_is_irregular_but_at_most_2mm_asymmetric(seed):
    u = np.linspace(-45.0, 45.0, 361)
    h = hairline_height_mm(u, template="classic", midpoint_mm=80.0, temple_u_mm=45.0,
                           rng=np.random.default_rng(seed), irregularity_mm=1.2, asymmetry_mm=2.0)
    smooth = hairline_height_mm(u, template="classic", midpoint_mm=80.0, temple_u_mm=45.0)
    assert h[180] == pytest.approx(80.0)  # the front midpoint is where it was asked for
    assert np.abs(h - h[::-1]).max() <= 2.0 + 1e-9
    assert np.std(h - smooth) > 0.15, "a laser-straight copy of the template"
    other = hairline_height_mm(u, template="classic", midpoint_mm=80.0, temple_u_mm=45.0,
                               rng=np.random.default_rng(seed + 100), irregularity_mm=1.2, asymmetry_mm=2.0)
    assert not np.allclose(h, other)


def test_custom_hairline_follows_the_consultant_points(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "bald_S001224.jpg")
    f, s = a.face, a.px_per_mm
    # points 60 mm above the glabella in the image, from temple to temple, with a dip in the middle
    us = np.array([-40.0, -20.0, 0.0, 20.0, 40.0])
    vs = np.array([62.0, 60.0, 56.0, 60.0, 62.0])
    pts = [tuple(f.glabella + (uu * f.right + vv * f.up) * s) for uu, vv in zip(us, vs)]
    z = build_zones(a, Settings(hairline_points=tuple(pts), hairline_style="defined", shave=True))
    line = z.hairline.image_height_mm(np.array([-20.0, 0.0, 20.0]))
    assert np.abs(line - np.array([60.0, 56.0, 60.0])).max() < 2.5  # smoothed, not interpolated exactly
    v = _front_midpoint_mm(a, z)
    assert v == pytest.approx(line[1], abs=1.5)
    template = build_zones(a, Settings(hairline_style="defined", shave=True))
    assert (z.full_mask(a.labels.shape) ^ template.full_mask(a.labels.shape)).sum() > 100


def test_hairline_points_parse_and_validate():
    assert parse_points("10,20; 30,40;") == ((10.0, 20.0), (30.0, 40.0))
    assert Settings(hairline_points="10,20;30,40").hairline_points == ((10.0, 20.0), (30.0, 40.0))
    for bad in ("10,20", "10,20;10,40", "a,b;c,d", "1,2,3;4,5"):
        with pytest.raises(BadSetting):
            Settings(hairline_points=bad)


@hsettings(max_examples=60, deadline=None)
@given(template=st.sampled_from(["classic", "straight", "mature", "widows_peak"]),
       midpoint=st.floats(60.0, 110.0), corner=st.floats(30.0, 60.0), seed=st.integers(0, 10_000),
       irregular=st.floats(0.0, 2.0), asym=st.floats(-3.0, 3.0), peak=st.booleans(), receded=st.booleans())
def test_any_template_keeps_its_midpoint_and_at_most_2mm_asymmetry(template, midpoint, corner, seed, irregular,
                                                                      asym, peak, receded):
    u = np.linspace(-corner, corner, 241)
    h = hairline_height_mm(u, template=template, midpoint_mm=midpoint, temple_u_mm=corner,
                           rng=np.random.default_rng(seed), irregularity_mm=irregular, asymmetry_mm=asym,
                           widows_peak=peak, receded_temples=receded)
    assert h[120] == pytest.approx(midpoint, abs=1e-9)
    assert np.abs(h - h[::-1]).max() <= 2.0 + 1e-9
    # the corners are never below the front midpoint (no inverted hairline)
    assert h[0] >= midpoint - 2.0 and h[-1] >= midpoint - 2.0
