"""End-to-end behaviour of the preview on the bundled real photos with the real models."""

from __future__ import annotations

import numpy as np
import pytest

from smp_preview.preview import render
from smp_preview.segment import SCALP
from smp_preview.settings import Settings

BALDING = ["biden.jpg", "astronaut.jpg"]


@pytest.mark.parametrize("name", BALDING)
def test_render_changes_only_pixels_inside_the_zone(samples_dir, analysis_of, name):
    a = analysis_of(samples_dir / name)
    p = render(a, Settings(density_per_cm2=90, seed=3))
    diff = np.any(p.after != p.before, axis=2)
    assert diff.any(), "the render changed nothing"
    assert not (diff & ~p.changed).any(), "pixels outside the zone and the label changed"
    # the dots themselves (not only the label) changed pixels inside the zone
    zone = p.zones.full_mask(a.labels.shape)
    assert (diff & zone).sum() > 50


@pytest.mark.parametrize("density", [40.0, 80.0, 120.0])
def test_achieved_density_within_ten_percent(samples_dir, analysis_of, density):
    a = analysis_of(samples_dir / "biden.jpg")
    p = render(a, Settings(density_per_cm2=density, seed=1))
    assert p.report["treated_area_cm2"] > 3.0
    assert p.report["density_per_cm2"] == pytest.approx(density, rel=0.10)


def test_dots_only_on_scalp_skin(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "biden.jpg")
    p = render(a, Settings())
    xy = np.floor(p.dots.xy).astype(int)
    assert len(xy) > 100
    assert (a.labels[xy[:, 1], xy[:, 0]] == SCALP).all()


def test_same_seed_same_image_and_other_seed_other_dots(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "astronaut.jpg")
    p1 = render(a, Settings(seed=5))
    p2 = render(a, Settings(seed=5))
    p3 = render(a, Settings(seed=6))
    assert np.array_equal(p1.after, p2.after)
    assert not np.array_equal(p1.dots.xy, p3.dots.xy)


def test_darker_shade_and_higher_density_darken_more(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "biden.jpg")
    base = render(a, Settings(shade="light", density_per_cm2=60))
    zone = base.zones.full_mask(a.labels.shape)

    def mean_in_zone(p):
        return float(p.after[zone].astype(float).mean())

    before = float(a.rgb[zone].astype(float).mean())
    assert mean_in_zone(base) < before
    assert mean_in_zone(render(a, Settings(shade="darkest", density_per_cm2=60))) < mean_in_zone(base)
    assert mean_in_zone(render(a, Settings(shade="light", density_per_cm2=120))) < mean_in_zone(base)


def test_session_one_shows_about_thirty_percent(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "biden.jpg")
    final = render(a, Settings(density_per_cm2=100, sessions=3))
    first = render(a, Settings(density_per_cm2=100, sessions=3, session=1))
    assert len(first.dots) / len(final.dots) == pytest.approx(0.3, abs=0.05)
    assert first.report["density_per_cm2"] == pytest.approx(30, rel=0.15)


def test_scale_from_the_iris_is_plausible(samples_dir, analysis_of):
    for name in ("biden.jpg", "obama.jpg", "astronaut.jpg"):
        a = analysis_of(samples_dir / name)
        assert a.scale_source == "iris"
        f = a.face
        ipd_mm = float(np.linalg.norm(f.point(468) - f.point(473))) / a.px_per_mm
        assert 52 < ipd_mm < 75, f"{name}: interpupillary distance {ipd_mm:.1f} mm is not adult-like"


def test_comparison_is_before_beside_labelled_after(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "astronaut.jpg")
    p = render(a, Settings())
    cmp_ = p.comparison()
    h, w = a.rgb.shape[:2]
    assert cmp_.shape[0] == h and cmp_.shape[1] > 2 * w
    # the right half is the labelled after image (below the caption in its top-left corner)
    assert np.array_equal(cmp_[h // 5 :, -w:], p.after[h // 5 :])
    assert not np.array_equal(cmp_[h // 5 :, :w], p.after[h // 5 :])
