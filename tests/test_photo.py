"""Photo loading: EXIF orientation, formats, clear errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from smp_preview.errors import TooSmall, UnreadableFile, UnsupportedFormat
from smp_preview.photo import load_photo


def _jpeg_with_orientation(rgb: np.ndarray, orientation: int) -> bytes:
    im = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[274] = orientation
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif, quality=95)
    return buf.getvalue()


def test_exif_orientation_is_applied():
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[:, :100] = 255  # left half white
    photo = load_photo(_jpeg_with_orientation(rgb, 6))  # 6: rotate 90° clockwise to display
    assert photo.rgb.shape == (200, 100, 3)
    assert photo.rgb[:100].mean() > 200 and photo.rgb[100:].mean() < 50


def test_png_with_alpha_is_composited_on_white():
    rgba = np.zeros((80, 80, 4), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG")
    assert load_photo(buf.getvalue()).rgb.min() == 255


@pytest.mark.parametrize(
    "data, error",
    [(b"", UnreadableFile), (b"hello, not an image", UnsupportedFormat), (b"\xff\xd8\xff\xe0" + b"\0" * 40, UnsupportedFormat)],
)
def test_bad_bytes_give_specific_errors(data, error):
    with pytest.raises(error) as info:
        load_photo(data, name="upload.jpg")
    assert "upload.jpg" in str(info.value)


def test_tiny_image_is_too_small():
    buf = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buf, format="PNG")
    with pytest.raises(TooSmall):
        load_photo(buf.getvalue())


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(UnreadableFile, match="nope.jpg"):
        load_photo(tmp_path / "nope.jpg")
