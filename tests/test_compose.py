"""compose: the simulation label, side-by-side view and the image writer (lossless PNG)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from smp_preview import compose


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    bgr = cv2.imread("samples/biden.jpg")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (600, 800), (1300, 900)])
@pytest.mark.parametrize("channels", [0, 3])
def test_png_is_lossless_for_any_reader(shape, channels):
    # 1300x900x3 is larger than one strip: deflated on several threads and joined
    rng = np.random.default_rng(shape[0])
    img = rng.integers(0, 256, shape + ((channels,) if channels else ()), dtype=np.uint8)
    img[: shape[0] // 2] //= 7  # some runs and some noise
    data = bytes(compose.encode_image(img, ".png"))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    pil = np.asarray(Image.open(io.BytesIO(data)))
    assert pil.shape == img.shape and np.array_equal(pil, img)
    ocv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if channels:
        ocv = cv2.cvtColor(ocv, cv2.COLOR_BGR2RGB)
    assert np.array_equal(ocv, img)


def test_write_image_png_round_trip_and_no_leftovers(tmp_path, photo):
    path = tmp_path / "after.png"
    compose.write_image(path, photo)
    assert np.array_equal(np.asarray(Image.open(path)), photo)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["after.png"]  # temporary file renamed
    jpg = tmp_path / "after.jpg"
    compose.write_image(jpg, photo)
    back = np.asarray(Image.open(jpg)).astype(int)
    assert back.shape == photo.shape and np.abs(back - photo).mean() < 3  # quality 95


def test_write_image_unknown_format_names_the_file(tmp_path, photo):
    with pytest.raises(ValueError, match=r"out\.xyz.*\.png or \.jpg"):
        compose.write_image(tmp_path / "out.xyz", photo)
    assert not list(tmp_path.iterdir())


def test_label_changes_only_its_box_and_keeps_the_input(photo):
    before = photo.copy()
    out, mask = compose.add_label(photo)
    assert np.array_equal(photo, before)  # not drawn into the caller's image
    changed = (out != photo).any(axis=2)
    assert changed.any() and not (changed & ~mask).any()
    # darkened box with white text: both darker and brighter pixels than before inside the box
    diff = out.astype(int) - photo
    assert (diff[mask] < -20).any() and (diff[mask] > 20).any()
    same = photo.copy()
    out2, mask2 = compose.add_label(same, inplace=True)
    assert out2 is same and np.array_equal(out2, out) and np.array_equal(mask2, mask)


def test_side_by_side_keeps_both_images_and_a_white_gap(photo):
    after, _ = compose.add_label(photo)
    canvas = compose.side_by_side(photo, after, gap=6)
    h, w = photo.shape[:2]
    assert canvas.shape == (h, 2 * w + 6, 3)
    assert (canvas[:, w : w + 6] == 255).all()
    assert np.array_equal(canvas[h // 2 :, :w], photo[h // 2 :])  # below the caption
    assert np.array_equal(canvas[h // 2 :, w + 6 :], after[h // 2 :])


def _write_and_exit(path, img):
    # os._exit: skip the exit handlers inherited from the parent (e.g. closing MediaPipe models,
    # which waits for threads a forked child does not have); this test is about the PNG writer
    import os

    code = 1
    try:
        compose.write_image(path, img)
        code = 0
    finally:
        os._exit(code)


def test_png_writer_works_in_a_forked_child_after_use_in_the_parent(tmp_path):
    # batch runners fork worker processes; the parent's PNG threads do not exist in the child
    import multiprocessing as mp

    img = np.random.default_rng(1).integers(0, 256, (900, 800, 3), dtype=np.uint8)  # several strips
    compose.encode_image(img, ".png")  # the parent's thread pool now exists
    ctx = mp.get_context("fork")
    p = ctx.Process(target=_write_and_exit, args=(tmp_path / "child.png", img))
    p.start()
    p.join(timeout=60)
    assert p.exitcode == 0, "the child hung or failed writing a PNG"
    assert np.array_equal(np.asarray(Image.open(tmp_path / "child.png")), img)
