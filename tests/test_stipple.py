"""Dot placement: physical density, minimum spacing, blue noise, sessions, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from smp_preview.stipple import SESSION_LAYERS, stipple


def _count_density(dots, mask, px_per_mm, origin=(0, 0)):
    """Dots per cm² counted from the dot list inside ``mask`` (image pixels)."""
    ix = np.floor(dots.xy[:, 0] - origin[0]).astype(int)
    iy = np.floor(dots.xy[:, 1] - origin[1]).astype(int)
    inside = mask[iy.clip(0, mask.shape[0] - 1), ix.clip(0, mask.shape[1] - 1)]
    return inside.sum() / (mask.sum() / (px_per_mm * 10.0) ** 2)


@pytest.mark.parametrize("density", [30.0, 80.0, 150.0])
@pytest.mark.parametrize("px_per_mm", [1.5, 12.0])
def test_achieved_density_within_ten_percent_of_a_constant_target(density, px_per_mm):
    side_px = int(60 * px_per_mm)  # a 6 x 6 cm field
    field = np.full((side_px, side_px), density, np.float32)
    dots = stipple(field, px_per_mm, seed=2)
    interior = np.zeros(field.shape, bool)
    m = int(3 * px_per_mm)
    interior[m:-m, m:-m] = True
    assert _count_density(dots, interior, px_per_mm) == pytest.approx(density, rel=0.10)


def test_density_follows_a_varying_field_in_each_region():
    s = 3.0
    field = np.zeros((int(60 * s), int(90 * s)), np.float32)
    third = field.shape[1] // 3
    field[:, :third], field[:, third:2 * third], field[:, 2 * third:] = 40.0, 120.0, 0.0
    dots = stipple(field, s, origin_xy=(100.0, 50.0), seed=4)
    for lo, hi, target in ((0, third, 40.0), (third, 2 * third, 120.0)):
        region = np.zeros(field.shape, bool)
        region[5:-5, lo + 8:hi - 8] = True
        assert _count_density(dots, region, s, origin=(100, 50)) == pytest.approx(target, rel=0.10)
    # nothing where the target is zero
    assert not (dots.xy[:, 0] - 100 >= 2 * third + 1).any()


@pytest.mark.parametrize("density", [40.0, 100.0, 180.0])
def test_no_pair_closer_than_the_minimum_spacing(density):
    field = np.full((300, 300), density, np.float32)
    dots = stipple(field, 5.0, seed=1)
    d, _ = cKDTree(dots.xy).query(dots.xy, k=2)
    assert d[:, 1].min() >= dots.min_spacing_px * (1 - 1e-4)
    # and the spacing is physical: at 100/cm² the minimum is well below the mean 1.07 mm
    assert 0.3 < dots.min_spacing_px / 5.0 < 10.7 / np.sqrt(density)


def test_positions_are_blue_noise_not_clumps_nor_a_grid():
    s = 4.0
    field = np.full((int(80 * s), int(80 * s)), 80.0, np.float32)
    dots = stipple(field, s, seed=9)
    tree = cKDTree(dots.xy)
    d, j = tree.query(dots.xy, k=2)
    lam = len(dots) / (field.size)
    clark_evans = d[:, 1].mean() / (0.5 / np.sqrt(lam))
    # Poisson (clumpy) gives 1.0, a hexagonal grid 2.15; Poisson-disk sets sit in between
    assert 1.4 < clark_evans < 1.9
    # no preferred direction (a grid or rows would give peaks in the directions to neighbours)
    v = dots.xy[j[:, 1]] - dots.xy
    ang = np.mod(np.arctan2(v[:, 1], v[:, 0]), np.pi)
    hist, _ = np.histogram(ang, bins=12, range=(0, np.pi))
    assert hist.max() / hist.min() < 1.35
    # neighbour distances vary (a lattice has one distance)
    assert d[:, 1].std() / d[:, 1].mean() > 0.08


def test_same_seed_same_dots_other_seed_other_dots():
    field = np.full((200, 240), 70.0, np.float32)
    a, b, c = stipple(field, 2.5, seed=11), stipple(field, 2.5, seed=11), stipple(field, 2.5, seed=12)
    assert np.array_equal(a.xy, b.xy) and np.array_equal(a.session, b.session)
    assert np.array_equal(a.size, b.size) and np.array_equal(a.strength, b.strength)
    assert not np.array_equal(a.xy, c.xy)


@pytest.mark.parametrize("sessions", [2, 3, 4])
def test_sessions_add_layers_to_their_cumulative_share(sessions):
    field = np.full((400, 400), 100.0, np.float32)
    dots = stipple(field, 4.0, seed=3, sessions=sessions)
    for k, share in enumerate(SESSION_LAYERS[sessions], start=1):
        assert len(dots.upto(k)) / len(dots) == pytest.approx(share, abs=0.03)
    # each session's own dots are spread over the whole field (a layer, not a patch)
    first = dots.upto(1).xy
    assert np.ptp(first[:, 0]) > 0.9 * 400 and np.ptp(first[:, 1]) > 0.9 * 400


def test_size_and_strength_jitter_per_dot():
    dots = stipple(np.full((200, 200), 100.0, np.float32), 4.0, seed=0)
    assert 0.08 < dots.size.std() < 0.25 and 0.08 < dots.strength.std() < 0.25
    assert abs(np.corrcoef(dots.size, dots.strength)[0, 1]) < 0.2


def test_empty_field_gives_no_dots():
    assert len(stipple(np.zeros((50, 50), np.float32), 2.0)) == 0


def test_every_session_on_its_own_is_evenly_spread():
    """Later sessions fill the gaps between earlier dots: after session 1 (30 %) the dots are
    already blue noise at their own density, not a random subset of the final pattern."""
    s = 4.0
    field = np.full((int(80 * s), int(80 * s)), 100.0, np.float32)
    dots = stipple(field, s, seed=21, sessions=3)
    for k in (1, 2, 3):
        xy = dots.upto(k).xy
        d, _ = cKDTree(xy).query(xy, k=2)
        lam = len(xy) / field.size
        assert d[:, 1].mean() / (0.5 / np.sqrt(lam)) > 1.4, f"session {k} is clumpy"
