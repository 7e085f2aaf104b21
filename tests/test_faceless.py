"""Photos without a usable face (top, back and side views): head found, label map scored.

The labelled portraits are cut off just above the brows, so no face is found and only colour,
texture and the silhouette decide (as `bench/segmentation.py --faceless` does). The IoU floors
are the values measured on these crops with a margin of about 0.03-0.05.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from smp_preview.analysis import analyse
from smp_preview.errors import NoHeadFound
from smp_preview.face import BROW_LEFT, BROW_RIGHT
from smp_preview.photo import Photo, load_photo
from smp_preview.segment import BACKGROUND, HAIR, SCALP, SKIN


def _truth(shared_photos, name):
    return cv2.imread(str(shared_photos / "labels" / f"{name}.png"), cv2.IMREAD_UNCHANGED)


def _iou(pred_mask, true_mask):
    union = (pred_mask | true_mask).sum()
    return float((pred_mask & true_mask).sum() / union) if union else 1.0


def _top_crop(shared_photos, analysis_of, name):
    """The photo and its labels above the brows (the top of the head only)."""
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    cut = int(a.face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].min()) - 2
    return np.ascontiguousarray(a.rgb[:cut]), _truth(shared_photos, name)[:cut]


def _scores(labels, truth):
    skin = _iou(np.isin(labels, (SKIN, SCALP)), truth == 1)
    hair = _iou(labels == HAIR, truth == 3)
    bg = _iou(labels == BACKGROUND, truth == BACKGROUND)
    return bg, skin, hair


# name, least background / skin / hair IoU (measured: see the module doc)
BALD = [("C001072", 0.98, 0.90), ("S001224", 0.96, 0.93), ("A000376", 0.97, 0.93), ("P000617", 0.96, 0.76)]
HAIRED = [("K000388", 0.96, 0.92, 0.80), ("J000295", 0.97, 0.90, 0.80), ("F000478", 0.95, 0.93, 0.77),
          ("A000055", 0.97, 0.91, 0.70), ("S000510", 0.97, 0.92, 0.63)]


@pytest.mark.shared
@pytest.mark.parametrize("name, bg_min, skin_min", BALD)
def test_a_bald_top_without_a_face_is_found_as_scalp(shared_photos, analysis_of, models, name, bg_min, skin_min):
    rgb, t = _top_crop(shared_photos, analysis_of, name)
    a = analyse(Photo(rgb, f"{name}_top"), models)
    assert a.face is None and a.scale_source == "head_width"
    bg, skin, _ = _scores(a.labels, t)
    assert bg > bg_min and skin > skin_min, (bg, skin)
    # the bare top of the head is scalp (the zone the dots go on), not other skin
    assert (a.labels[t == 1] == SCALP).mean() > skin_min - 0.02


@pytest.mark.shared
@pytest.mark.parametrize("name, bg_min, skin_min, hair_min", HAIRED)
def test_a_haired_top_without_a_face_finds_scalp_and_hair(shared_photos, analysis_of, models, name, bg_min,
                                                          skin_min, hair_min):
    rgb, t = _top_crop(shared_photos, analysis_of, name)
    a = analyse(Photo(rgb, f"{name}_top"), models)
    assert a.face is None
    bg, skin, hair = _scores(a.labels, t)
    assert bg > bg_min and skin > skin_min and hair > hair_min, (bg, skin, hair)
    cov = a.segmentation.hair_coverage
    assert np.median(cov[(t == 3) & (a.labels == HAIR)]) > 0.6
    assert np.median(cov[(t == 1) & (a.labels == SCALP)]) < 0.4


@pytest.mark.shared
@pytest.mark.parametrize("name", ["K000388", "C001072"])
def test_a_head_without_a_face_is_found_turned_shrunk_or_darker(shared_photos, analysis_of, models, name):
    """The same crop upside down (the head leaves the frame at the top), at half size and at
    40 % of its light: still a head, and nearly the same labels."""
    rgb, t = _top_crop(shared_photos, analysis_of, name)
    a = analyse(Photo(rgb, "upright"), models)
    _, skin0, hair0 = _scores(a.labels, t)
    turned = analyse(Photo(np.ascontiguousarray(rgb[::-1, ::-1]), "turned"), models)
    _, skin, hair = _scores(turned.labels[::-1, ::-1], t)
    assert skin > skin0 - 0.03 and hair > hair0 - 0.05
    half = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    t_half = cv2.resize(t, (half.shape[1], half.shape[0]), interpolation=cv2.INTER_NEAREST)
    _, skin, _ = _scores(analyse(Photo(half, "half"), models).labels, t_half)
    assert skin > skin0 - 0.05
    dark = (((rgb / 255.0) ** 2.2 * 0.4) ** (1 / 2.2) * 255).astype(np.uint8)
    _, skin, _ = _scores(analyse(Photo(dark, "dark"), models).labels, t)
    assert skin > skin0 - 0.05


@pytest.mark.shared
def test_the_faceless_crops_score_like_the_face_path(shared_photos, analysis_of, models):
    """Pooled over all the labelled portraits cut above the brows (measured 0.993 / 0.934 /
    0.650): every one is found as a head."""
    inter, union = np.zeros(3), np.zeros(3)
    for path in sorted((shared_photos / "labels").glob("*.png")):
        rgb, t = _top_crop(shared_photos, analysis_of, path.stem)
        labels = analyse(Photo(rgb, path.stem), models).labels  # NoHeadFound fails the test
        for k, (p, q) in enumerate([(labels == BACKGROUND, t == 0), (np.isin(labels, (SKIN, SCALP)), t == 1),
                                    (labels == HAIR, t == 3)]):
            inter[k] += (p & q).sum()
            union[k] += (p | q).sum()
    bg, skin, hair = inter / union
    assert bg > 0.98 and skin > 0.92 and hair > 0.6, (bg, skin, hair)


def test_the_top_of_the_bald_sample_is_a_head(samples_dir, models):
    rgb = load_photo(samples_dir / "bald_S001224.jpg").rgb
    a = analyse(Photo(np.ascontiguousarray(rgb[: rgb.shape[0] // 3]), "top"), models)
    assert a.face is None and (a.labels == SCALP).mean() > 0.2


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket", "retina", "logo", "colorwheel"])
def test_a_photo_of_no_head_is_refused(models, name):
    """A cup of coffee, a ginger cat, a rocket, a fundus photo (an orange smooth disc), a
    logo and a colour wheel: skin-coloured, smooth or round things, but no head. (The face
    landmarker finds a face in the colour wheel; the person segmenter sees no person there.)"""
    from skimage import data

    rgb = np.ascontiguousarray(getattr(data, name)()[..., :3])
    with pytest.raises(NoHeadFound):
        analyse(Photo(rgb, name), models)


@pytest.mark.shared
@pytest.mark.parametrize("name", ["K000388", "C001072"])
def test_a_head_without_a_face_on_a_busy_background(shared_photos, analysis_of, models, name):
    """The crop's backdrop swapped for the skimage rocket photo (dusk sky, gantries, lights):
    the head is found and the background stays background (measured bg IoU 0.93 / 0.99, skin
    0.95 / 0.95; no scalp on it)."""
    from skimage import data

    rgb, t = _top_crop(shared_photos, analysis_of, name)
    fg = cv2.GaussianBlur((t > 0).astype(np.float32), (0, 0), 0.8)[..., None]
    bg = cv2.resize(data.rocket(), (rgb.shape[1], rgb.shape[0]))
    a = analyse(Photo((rgb * fg + bg * (1 - fg)).astype(np.uint8), "busy"), models)
    bg_iou, skin, _ = _scores(a.labels, t)
    assert bg_iou > 0.89 and skin > 0.9, (bg_iou, skin)
    assert (a.labels[t == BACKGROUND] == SCALP).mean() < 0.005


def _tops_agree_with_the_face_path(path, models, cuts, scale_source=None):
    """Cut a sample's photo at ``share`` of the brows' height, framed around the head with half
    its width on each side, and check that the face-less analysis of the crop agrees with the
    face path's labels of the same pixels: background / skin / hair IoU over ``floors``."""
    a = analyse(load_photo(path), models)
    brow = int(a.face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].min()) - 2
    cols = np.flatnonzero((a.labels[:brow] > 0).any(axis=0))
    w = cols[-1] - cols[0]
    for share, floors in cuts:
        cut = brow if share == 1.0 else int(share * brow)
        box = (slice(0, cut), slice(max(0, cols[0] - w // 2), cols[-1] + w // 2))
        top = analyse(Photo(np.ascontiguousarray(a.rgb[box]), "top"), models)
        ref = a.labels[box]
        assert top.face is None
        if scale_source is not None:
            assert top.scale_source == scale_source
        got = (_iou(top.labels == BACKGROUND, ref == BACKGROUND),
               _iou(np.isin(top.labels, (SKIN, SCALP)), np.isin(ref, (SKIN, SCALP))),
               _iou(top.labels == HAIR, ref == HAIR))
        assert all(g > f for g, f in zip(got, floors)), (cut, got)


def test_a_haired_head_without_a_face_on_a_real_busy_background(samples_dir, models):
    """The top of the head of the Oval Office portrait, cut above the brows and framed around
    the head: short dark hair, window and curtains behind it, no face. The head is found, and
    its label map agrees with the one the face path gives for the same pixels of the whole
    photo (measured IoU background 0.92 / skin 0.98 / hair 0.71 cut at the brows; 0.96 / 0.96 /
    0.80 at four fifths of the way). Before the GrabCut person mask the window was taken for
    the head or the photo was refused."""
    _tops_agree_with_the_face_path(samples_dir / "obama.jpg", models,
                                   ((1.0, (0.88, 0.94, 0.66)), (0.8, (0.92, 0.92, 0.75))), scale_source="head_width")


def test_white_hair_without_a_face_on_a_real_busy_background(samples_dir, models):
    """The top of the head of the second sample cut above the brows: white hair, pink forehead,
    curtains and a light wall behind, no face. The white hair is of a skin hue at a low chroma and
    smoother than the forehead on this photo: it had become the skin model, so that the whole
    head was scalp, or the photo was refused. Taken out of the skin's seed, learnt as hair, and
    not taken for a highlight along the head's outline, it is hair (measured against the face
    path's labels of the same pixels: background / skin / hair 0.96 / 0.93 / 0.67 cut at the
    brows, 0.97 / 0.91 / 0.69 at nine tenths; before 0.99 / 0.55 / 0.00 and 0.99 / 0.51 / 0.00,
    the white hair scalp). Cut at four fifths it is still refused: its skin patch is
    just under the solidity a scalp needs, and the person segmenter sees no person there)."""
    _tops_agree_with_the_face_path(samples_dir / "biden.jpg", models,
                                   ((1.0, (0.92, 0.88, 0.6)), (0.9, (0.93, 0.87, 0.62))))


def _pasted_top(shared_photos, analysis_of, name, backdrop):
    """The crop above the brows pasted on a skimage photo, as the bench pastes its variants
    (the studio blue taken out of the outline first: `bench/segmentation.py`'s `_pasted`)."""
    from bench.segmentation import _backgrounds, _pasted

    rgb, t = _top_crop(shared_photos, analysis_of, name)
    return _pasted(rgb, t, _backgrounds()[backdrop])


# name, backdrop, least background / skin / hair IoU (measured minus about 0.04; hair None: bald)
BUSY = [("K000388", "chelsea", 0.83, 0.88, 0.40), ("K000388", "ihc", 0.83, 0.87, 0.47),
        ("J000295", "chelsea", 0.88, 0.89, 0.50), ("S000510", "astro", 0.92, 0.85, 0.63),
        ("J000295", "wood", 0.94, 0.83, 0.76), ("A000376", "ihc", 0.93, 0.94, None),
        ("P000617", "chelsea", 0.88, 0.95, None)]


@pytest.mark.shared
@pytest.mark.parametrize("name,backdrop,bg_min,skin_min,hair_min", BUSY)
def test_a_head_without_a_face_on_a_cat_tissue_wood_or_shuttle(shared_photos, analysis_of, models, name, backdrop,
                                                               bg_min, skin_min, hair_min):
    """Busy backgrounds whose colours the photo's border does not give (fur, stained tissue,
    wood grain, the shuttle): the head is found by GrabCut from the frame's margins, the cat's
    false face is not taken for a face, and the background stays background."""
    rgb, t = _pasted_top(shared_photos, analysis_of, name, backdrop)
    a = analyse(Photo(rgb, f"{name}_{backdrop}"), models)
    assert a.face is None
    bg_iou, skin, hair = _scores(a.labels, t)
    assert bg_iou > bg_min and skin > skin_min, (bg_iou, skin)
    if hair_min is not None:
        assert hair > hair_min, hair


# name, backdrop, least background IoU, most share of the true background taken as hair, least
# hair IoU (None: bald). Measured 0.972 / 1.6 %, 0.946 / 3.4 %, 0.969 / 2.2 % / 0.696 and
# 0.937 / 6.0 % / 0.555; before the round outline and the person segmenter's check (commit
# 38a28c9) 0.886 / 10.4 %, 0.827 / 15.7 %, 0.872 / 11.7 % / 0.450 and 0.880 / 9.0 % / 0.475.
BESIDE_THE_HEAD = [("A000376", "chelsea", 0.94, 0.04, None), ("C001072", "chelsea", 0.91, 0.06, None),
                   ("K000388", "chelsea", 0.93, 0.05, 0.65), ("K000375", "astro", 0.90, 0.09, 0.51)]


@pytest.mark.shared
@pytest.mark.parametrize("name,backdrop,bg_min,hair_on_bg_max,hair_min", BESIDE_THE_HEAD)
def test_a_cats_eyes_or_a_gantry_beside_a_face_less_head_are_no_hair(shared_photos, analysis_of, models, name,
                                                                     backdrop, bg_min, hair_on_bg_max, hair_min):
    """The cat's eyes above the head and the shuttle's gantry beside it are taken into the
    silhouette by GrabCut, and the person segmenter is sure of a 'person' on the cat's fur: they
    stick out of the head's round outline and lie apart from the head, so they are background,
    not hair."""
    rgb, t = _pasted_top(shared_photos, analysis_of, name, backdrop)
    a = analyse(Photo(rgb, f"{name}_{backdrop}"), models)
    bg, _, hair = _scores(a.labels, t)
    assert bg > bg_min, bg
    assert (a.labels[t == BACKGROUND] == HAIR).mean() < hair_on_bg_max
    if hair_min is not None:
        assert hair > hair_min, hair


@pytest.mark.shared
@pytest.mark.parametrize("name", ["A000376", "C001072", "H001077"])
def test_wood_grain_beside_a_bald_face_less_head_is_not_scalp(shared_photos, analysis_of, models, name):
    """A bald top on the bare wooden table: the light stripes of the grain are skin-coloured, and
    GrabCut took a bulge of them in beside the head, where they were scalp (dots on the table
    in a preview: 6.9 / 4.5 / 6.4 % of the background before). The grain is rough where skin is
    smooth, and its stripes are thinner than skin ever is: background (measured 2.4 / 2.3 /
    1.3 %, the rest a fringe along the outline; background IoU 0.974 / 0.976 / 0.983, skin
    0.938 / 0.941 / 0.950)."""
    rgb, t = _pasted_top(shared_photos, analysis_of, name, "wood")
    a = analyse(Photo(rgb, f"{name}_wood"), models)
    assert (a.labels[t == BACKGROUND] == SCALP).mean() < 0.035
    bg, skin, _ = _scores(a.labels, t)
    assert bg > 0.95 and skin > 0.91, (bg, skin)


@pytest.mark.shared
@pytest.mark.parametrize("name,skin_min", [("E000296", 0.93), ("I000058", 0.90), ("P000617", 0.87)])
def test_a_bald_head_under_a_cup_on_a_saucer_is_found(shared_photos, analysis_of, models, name, skin_min):
    """The head pasted under a white cup on a red saucer: the cup's rim hugging the head top no
    longer makes the head ragged, nor does the saucer beside a dark-skinned head (all three were
    refused before; measured skin 0.958 / 0.936 / 0.902, scalp on the background 0.9 / 1.3 /
    4.8 %). C001072 is still refused: there the border colours miss the head (its skin is the
    wood's colour) and the rim at the top edge turns the photo upside down."""
    rgb, t = _pasted_top(shared_photos, analysis_of, name, "coffee")
    a = analyse(Photo(rgb, f"{name}_coffee"), models)  # NoHeadFound fails the test
    bg, skin, _ = _scores(a.labels, t)
    assert bg > 0.92 and skin > skin_min, (bg, skin)
    assert (a.labels[t == BACKGROUND] == SCALP).mean() < 0.07


def _crown_close_up(rgb, labels, brow):
    """The scalp from 30 px under the crown down to the brows' height, 40 px inside the head's
    outline at the brows on either side: a close-up whose frame the head fills."""
    head = labels[:brow] > 0
    rows = np.flatnonzero(head.any(axis=1))
    cols = np.flatnonzero(head[brow - 5])
    return np.ascontiguousarray(rgb[rows[0] + 30: brow, cols[0] + 40: cols[-1] - 40])


def test_a_close_up_of_the_crown_that_fills_the_frame_is_all_scalp(samples_dir, models):
    """A crop of the bald sample's scalp with no background in view: before, half of it was
    taken for background (the margins were assumed to be background) or the photo was refused;
    the border is skin of the centre's colour and texture all round, so the head fills the frame."""
    a = analyse(load_photo(samples_dir / "bald_S001224.jpg"), models)
    brow = int(a.face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].min()) - 2
    crop = _crown_close_up(a.rgb, a.labels, brow)
    assert float((_crown_close_up(a.labels, a.labels, brow) == BACKGROUND).mean()) < 0.01
    top = analyse(Photo(crop, "crown"), models)
    assert top.face is None
    assert float(np.isin(top.labels, (SKIN, SCALP)).mean()) > 0.95


# (top, bottom, left, right) of the bald sample cut inside its outline, enlargement: close-ups of
# the scalp with at most a few pixels of backdrop in a corner. Skin IoU against the face path's
# labels was 0.35-0.54 on each before (36 of 100 such crops under 0.9; 3 now, all 3x with 2-4 %
# backdrop): the first cut's outline through the scalp scored 2.7-2.9, just over the old limit.
TIGHT = [((45, 125, 120, 220), 1), ((40, 120, 120, 220), 1), ((50, 130, 125, 225), 1), ((50, 130, 125, 225), 3),
         ((50, 120, 110, 230), 3), ((45, 125, 115, 215), 3)]


@pytest.mark.parametrize("box,enlarge", TIGHT)
def test_a_tight_close_up_of_the_scalp_is_scalp_throughout(samples_dir, analysis_of, models, box, enlarge):
    """A weak outline of the first cut gets the second look; a second cut that takes in 90 % of a
    skin-bordered frame, or no margin colour that no head has, means the head reaches every edge."""
    a = analysis_of(samples_dir / "bald_S001224.jpg")
    y0, y1, x0, x1 = box
    crop, truth = np.ascontiguousarray(a.rgb[y0:y1, x0:x1]), np.isin(a.labels[y0:y1, x0:x1], (SKIN, SCALP))
    if enlarge > 1:
        crop = cv2.resize(crop, None, fx=enlarge, fy=enlarge, interpolation=cv2.INTER_CUBIC)
        truth = cv2.resize(truth.astype(np.uint8), None, fx=enlarge, fy=enlarge,
                           interpolation=cv2.INTER_NEAREST).astype(bool)
    top = analyse(Photo(crop, "tight"), models)
    assert top.face is None
    assert _iou(np.isin(top.labels, (SKIN, SCALP)), truth) > 0.9


# name, (under the crown, above the brows, inside the outline) in head widths, enlargement; skin
# IoU before: 0.23 / 0.12 / 0.75 / 0.37 / 0.34 / 0.44 / 0.71: cuts through the scalp scored
# 2.6-3.8 for outline sharpness, under the 4.0 of real outlines (now 0.93-1.00)
INSIDE = [("K000375", (0.15, 0.1, 0.2), 1), ("K000375", (0.2, 0.15, 0.12), 1), ("N000002", (0.15, 0.1, 0.2), 1),
          ("S001224", (0.15, 0.1, 0.2), 3), ("V000135", (0.15, 0.1, 0.2), 1), ("T000467", (0.15, 0.1, 0.2), 3),
          ("K000388", (0.15, 0.1, 0.2), 3)]


@pytest.mark.shared
@pytest.mark.parametrize("name,cut,enlarge", INSIDE)
def test_the_scalp_of_a_labelled_head_cut_inside_its_outline_is_scalp(shared_photos, analysis_of, models, name,
                                                                       cut, enlarge):
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    t = _truth(shared_photos, name)
    brow = int(a.face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].min()) - 2
    head = t[:brow] > 0
    cols = np.flatnonzero(head[brow - 5])
    w = cols[-1] - cols[0]
    below, above, inside = (int(c * w) for c in cut)
    top = int(np.flatnonzero(head.any(axis=1))[0])
    box = (slice(top + below, brow - above), slice(cols[0] + inside, cols[-1] - inside))
    crop, truth = np.ascontiguousarray(a.rgb[box]), t[box]
    if enlarge > 1:
        crop = cv2.resize(crop, None, fx=enlarge, fy=enlarge, interpolation=cv2.INTER_CUBIC)
        truth = cv2.resize(truth, None, fx=enlarge, fy=enlarge, interpolation=cv2.INTER_NEAREST)
    b = analyse(Photo(crop, name), models)
    assert _iou(np.isin(b.labels, (SKIN, SCALP)), truth == 1) > 0.9


@pytest.mark.shared
@pytest.mark.parametrize("name", ["A000376", "K000388", "A000055", "E000296", "K000375", "N000002", "J000295",
                                  "L000601"])
def test_crown_close_ups_of_the_labelled_heads_are_found_whole(shared_photos, analysis_of, models, name):
    """The same close-ups of labelled bald and thinning heads (measured skin IoU 0.99-1.00; 0.46-0.64
    or refused before). K000375, N000002 and J000295: a forehead's shading and furrows, with a
    wisp of hair at the top edge, had kept the border from passing for the head's (skin IoU
    0.996 / 0.971 / 0.982; 0.30 / 0.65 / refused before). L000601: one colour all over, GrabCut
    found no head in it at all and the photo was refused (skin IoU 1.00)."""
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    t = _truth(shared_photos, name)
    brow = int(a.face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].min()) - 2
    crop = _crown_close_up(a.rgb, t, brow)
    truth = _crown_close_up(t, t, brow)
    assert float((truth == BACKGROUND).mean()) < 0.01
    top = analyse(Photo(crop, name), models)
    assert _iou(np.isin(top.labels, (SKIN, SCALP)), truth == 1) > 0.95


def _close_up_with_corners(rgb, labels, brow, below, inside):
    """The head from ``below`` head widths under the crown down to the brows' height, ``inside``
    head widths inside its outline at the brows on either side: a close-up of the crown whose
    frame the head reaches on the top, left and right, with background in the corners."""
    head = labels[:brow] > 0
    rows = np.flatnonzero(head.any(axis=1))
    cols = np.flatnonzero(head[brow - 5])
    w = cols[-1] - cols[0]
    b, i = int(below * w), int(inside * w)
    return np.ascontiguousarray(rgb[rows[0] + b: brow, cols[0] + i: cols[-1] - i])


@pytest.mark.parametrize("below,inside,enlarge", [(0.05, 0.08, 1), (0.1, 0.12, 1), (0.05, 0.08, 4)])
def test_a_close_up_of_the_crown_with_background_in_the_corners(samples_dir, models, below, inside, enlarge):
    """The bald sample's crown cut so that the head reaches the top, left and right edges, with
    the backdrop only in the corners (6 % and 1.4 % of the frame; the first also 4x enlarged).
    The margins are no longer all taken for background: a cut through the middle of the scalp,
    where the photo shows no edge, is replaced by one from the corner colours that no head has.
    Skin IoU against the face path's labels of the same pixels: measured 0.97, 0.98 and 0.96
    (0.60, 0.44 and 0.62 before)."""
    a = analyse(load_photo(samples_dir / "bald_S001224.jpg"), models)
    brow = int(a.face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].min()) - 2
    crop = _close_up_with_corners(a.rgb, a.labels, brow, below, inside)
    ref = _close_up_with_corners(a.labels, a.labels, brow, below, inside)
    if enlarge > 1:
        crop = cv2.resize(crop, None, fx=enlarge, fy=enlarge, interpolation=cv2.INTER_CUBIC)
        ref = cv2.resize(ref, None, fx=enlarge, fy=enlarge, interpolation=cv2.INTER_NEAREST)
    assert 0.005 < float((ref == BACKGROUND).mean()) < 0.1
    top = analyse(Photo(crop, "crown"), models)
    assert top.face is None
    assert _iou(np.isin(top.labels, (SKIN, SCALP)), np.isin(ref, (SKIN, SCALP))) > 0.9


# name: labelled heads, bald to haired (measured skin IoU 0.91-0.99; 0.36-0.68 before; the last
# three were refused: their second cut was empty, and an empty cut has no outline to be weak)
CORNERS = ["A000376", "C001072", "E000296", "H001077", "M001199", "P000617", "K000388", "S001199", "L000601",
           "K000375", "A000055", "M001194", "P000599"]


@pytest.mark.shared
@pytest.mark.parametrize("name", CORNERS)
def test_crown_close_ups_with_background_in_the_corners_are_found_whole(shared_photos, analysis_of, models, name):
    """Close-ups of labelled heads 15 px under the crown and 25 px inside the outline at the brows:
    the head reaches three edges of the frame, 1-5 % of it is backdrop in the corners."""
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    t = _truth(shared_photos, name)
    brow = int(a.face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].min()) - 2
    head = t[:brow] > 0
    top_row = int(np.flatnonzero(head.any(axis=1))[0])
    cols = np.flatnonzero(head[brow - 5])
    box = (slice(top_row + 15, brow), slice(cols[0] + 25, cols[-1] - 25))
    crop, truth = np.ascontiguousarray(a.rgb[box]), t[box]
    assert 0.0 < float((truth == BACKGROUND).mean()) < 0.06
    top = analyse(Photo(crop, name), models)
    assert _iou(np.isin(top.labels, (SKIN, SCALP)), truth == 1) > 0.88


@pytest.mark.shared
@pytest.mark.parametrize("backdrop,hair_min", [("rocket", 0.8), ("ihc", 0.75), ("wood", 0.35)])
def test_a_white_grey_fringe_without_a_face_is_hair(shared_photos, analysis_of, models, backdrop, hair_min):
    """K000375's white-grey fringe cut above the brows and pasted on busy backgrounds: the pale
    fringe had joined the skin's seed and was scalp (hair IoU 0.02 / 0.09 / 0.02 before; measured
    0.86 / 0.82 / 0.40)."""
    rgb, t = _pasted_top(shared_photos, analysis_of, "K000375", backdrop)
    a = analyse(Photo(rgb, f"K000375_{backdrop}"), models)
    _, skin, hair = _scores(a.labels, t)
    assert hair > hair_min and skin > 0.85, (skin, hair)


@pytest.mark.parametrize("name,below,inside,enlarge", [("bald_S001224.jpg", 0.05, 0.08, 1), ("bald_S001224.jpg", 0.1, 0.12, 1),
                                                       ("bald_S001224.jpg", 0.05, 0.08, 4),
                                                       ("balding_A000055.jpg", 0.05, 0.08, 1),
                                                       ("balding_A000055.jpg", 0.05, 0.08, 4)])
def test_the_scale_of_a_crown_close_up_comes_from_the_arc_of_its_outline(samples_dir, models, name, below, inside,
                                                                         enlarge):
    """A close-up that cuts the head off at both sides shows less than the head's width: taken
    as the assumed 150 mm head width, the frame gave a scale 0.76-0.84 times the iris scale of
    the same pixels. The circle through the outline visible in the corners stands in for the
    head's width (measured 0.88-1.10 times the iris scale)."""
    a = analyse(load_photo(samples_dir / name), models)
    brow = int(a.face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].min()) - 2
    crop = _close_up_with_corners(a.rgb, a.labels, brow, below, inside)
    if enlarge > 1:
        crop = cv2.resize(crop, None, fx=enlarge, fy=enlarge, interpolation=cv2.INTER_CUBIC)
    top = analyse(Photo(crop, "crown"), models)
    assert top.scale_source == "head_width"
    assert 0.85 < top.px_per_mm / (a.px_per_mm * enlarge) < 1.15
    assert not top.scale_lower_bound  # the arc gave the head's width


def test_a_close_up_with_no_outline_says_its_scale_is_a_lower_bound(samples_dir, models, tmp_path, capsys):
    """The bald sample's crown filling the frame shows no outline to fit: the assumed 15 cm
    head width is the frame's width, about half the true scale here. The analysis, the report
    and the CLI line say so; a measured scale clears it."""
    from smp_preview.cli import main
    from smp_preview.preview import render
    from smp_preview.settings import Settings

    a = analyse(load_photo(samples_dir / "bald_S001224.jpg"), models)
    assert not a.scale_lower_bound  # the iris scale
    brow = int(a.face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].min()) - 2
    crop = _crown_close_up(a.rgb, a.labels, brow)
    top = analyse(Photo(crop, "crown"), models)
    assert top.scale_source == "head_width" and top.scale_lower_bound
    assert top.px_per_mm < 0.8 * a.px_per_mm  # too small, as it says
    from smp_preview.sheet import plan_rows
    from smp_preview.ui import estimate_plan

    guessed, measured = render(top, Settings()), render(top, Settings(px_per_mm=a.px_per_mm))
    assert guessed.report["scale_lower_bound"] is True
    assert measured.report["scale_lower_bound"] is False
    notes = [v for p in (guessed, measured) for _, v in plan_rows(p, Settings(), estimate_plan(p.report, Settings()))
             if "wider than the photo" in v]
    assert len(notes) == 1  # on the consultation sheet of the guessed scale only
    # no face, no brows: the sheet names no template hairline "80 mm above the brows"
    hairline = dict(plan_rows(guessed, Settings(), estimate_plan(guessed.report, Settings())))["Hairline"]
    assert "brows" not in hairline and "no face" in hairline
    path = tmp_path / "crown.png"
    cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    assert main(["render", str(path), "-o", str(tmp_path / "after.png")]) == 0
    assert "too small, the head is wider than the photo" in capsys.readouterr().out
    assert main(["render", str(path), "-o", str(tmp_path / "after2.png"), "--px-per-mm", "5"]) == 0
    assert "too small" not in capsys.readouterr().out
