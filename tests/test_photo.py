"""Photo loading: EXIF orientation, formats, clear errors."""

from __future__ import annotations

import io
from pathlib import Path

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
    [(b"", UnreadableFile), (b"hello, not an image", UnsupportedFormat),
     (b"\xff\xd8\xff\xe0" + b"\0" * 40, UnreadableFile)],
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


# ---------------------------------------------------------------- the door's limits and formats


def _corpus():
    from conftest import load_corpus_module

    return load_corpus_module()


def _png(size=(200, 100), colour=(200, 120, 90)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def test_size_limits_are_options_with_safe_defaults():
    from smp_preview.errors import TooLarge
    from smp_preview.photo import MAX_BYTES, MAX_PIXELS

    assert MAX_PIXELS <= 50_000_000 and MAX_BYTES <= 64 * 2**20
    data = _png((300, 200))
    assert load_photo(data).shape == (200, 300)
    with pytest.raises(TooLarge, match="300x200 pixels"):
        load_photo(data, max_pixels=50_000)
    with pytest.raises(TooLarge, match="MB"):
        load_photo(data, max_bytes=len(data) - 1)
    with pytest.raises(TooSmall):
        load_photo(data, min_side_px=201)


def test_a_big_file_is_refused_before_it_is_read(tmp_path):
    from smp_preview.errors import TooLarge

    big = tmp_path / "huge.jpg"
    with big.open("wb") as f:
        f.truncate(2048)  # sparse: the limit is checked on the size, not by reading
    with pytest.raises(TooLarge, match="huge.jpg"):
        load_photo(big, max_bytes=1024)


def test_a_bomb_is_refused_without_allocating_its_pixels():
    import tracemalloc

    from smp_preview.errors import TooLarge

    ihdr = b"\x00\x00\xc3\x50\x00\x00\xc3\x50\x08\x02\x00\x00\x00"  # 50000 x 50000 RGB
    import struct
    import zlib

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    idat = zlib.compress(b"\0" * 100)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    tracemalloc.start()
    with pytest.raises(TooLarge):
        load_photo(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB allocated for a {len(data)}-byte file"


def test_paths_that_are_not_photo_files(tmp_path):
    with pytest.raises(UnreadableFile, match="folder"):
        load_photo(tmp_path)
    if Path("/dev/null").exists():
        with pytest.raises(UnreadableFile, match="not a regular file"):
            load_photo("/dev/null")


def test_the_format_comes_from_the_content_not_the_name(tmp_path):
    p = tmp_path / "photo.gif"
    p.write_bytes(_png())
    photo = load_photo(p)
    assert photo.format == "PNG" and photo.name == str(p)


def test_a_heic_photo_from_a_phone_loads():
    rgb = np.zeros((120, 160, 3), np.uint8)
    rgb[:, :80] = (220, 40, 40)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="HEIF", quality=90)
    photo = load_photo(buf.getvalue(), name="IMG_0001.HEIC")
    assert photo.format == "HEIF" and photo.shape == (120, 160)
    assert photo.rgb[60, 20, 0] > 180 and photo.rgb[60, 140].max() < 40


def test_an_embedded_colour_profile_is_honoured():
    """Adobe RGB pixels read without their profile look dull; converted, they match the original."""
    mc = _corpus()
    rgb = np.zeros((100, 100, 3), np.uint8)
    rgb[:50] = (30, 200, 60)  # a saturated green
    rgb[50:] = (220, 60, 40)
    im = Image.fromarray(rgb)
    adobe = mc._from_srgb(im, mc.ADOBE_RGB)
    buf, raw = io.BytesIO(), io.BytesIO()
    adobe.save(buf, format="PNG", icc_profile=mc.ADOBE_RGB)
    adobe.save(raw, format="PNG", icc_profile=None)
    managed = load_photo(buf.getvalue())
    unmanaged = load_photo(raw.getvalue())
    err_managed = np.abs(managed.rgb.astype(int) - rgb).max()
    err_unmanaged = np.abs(unmanaged.rgb.astype(int) - rgb).max()
    assert err_managed <= 3
    assert err_unmanaged > 15
    assert any("sRGB" in n for n in managed.notes) and unmanaged.notes == ()


def test_plain_and_adobe_cmyk_jpegs_give_the_same_colours():
    rgb = np.zeros((80, 80, 3), np.uint8)
    rgb[:40] = (200, 60, 30)
    rgb[40:] = (40, 90, 200)
    cmyk = Image.fromarray(rgb).convert("CMYK")
    from PIL import ImageChops

    mc = _corpus()
    adobe, plain = io.BytesIO(), io.BytesIO()
    cmyk.save(adobe, format="JPEG", quality=95)
    ImageChops.invert(cmyk).save(plain, format="JPEG", quality=95)
    plain_bytes = mc.strip_jpeg_segment(plain.getvalue(), 0xEE)
    a, b = load_photo(adobe.getvalue()).rgb, load_photo(plain_bytes).rgb
    assert np.abs(a.astype(int) - rgb).mean() < 4
    assert np.abs(b.astype(int) - rgb).mean() < 4


def test_only_the_first_frame_of_an_animation_is_used_and_the_photo_says_so():
    frames = [Image.new("RGB", (100, 100), c) for c in ((250, 250, 250), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    photo = load_photo(buf.getvalue())
    assert photo.rgb.min() > 240
    assert len(photo.notes) == 1 and "first" in photo.notes[0]


def test_sixteen_bit_grey_keeps_its_tones():
    grey = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (80, 1))
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="PNG")
    rgb = load_photo(buf.getvalue()).rgb
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, -1].tolist() == [255, 255, 255]
    assert abs(int(rgb[0, 128, 0]) - 128) <= 1  # not clipped, not treated as 8-bit


def test_every_error_has_a_code_a_message_and_a_hint():
    from smp_preview import errors

    kinds = [errors.UnreadableFile, errors.UnsupportedFormat, errors.TooLarge, errors.TooSmall, errors.NoHeadFound,
             errors.SeveralFaces, errors.TooDark, errors.BadSetting]
    assert len({k.code for k in kinds}) == len(kinds)
    for k in kinds:
        assert issubclass(k, errors.PreviewError)
        e = k("Something is wrong.", "Do this.", source="a.jpg")
        assert str(e) == "a.jpg: Something is wrong. Do this."


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_turned_upright(orientation):
    from PIL import ImageOps

    rgb = np.zeros((90, 140, 3), np.uint8)
    rgb[:30, :20] = (255, 0, 0)  # a red mark top left, green top right: asymmetric in both axes
    rgb[:30, -50:] = (0, 255, 0)
    upright = Image.fromarray(rgb)
    undo = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
            7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}[orientation]
    stored = upright.transpose(undo) if undo is not None else upright
    exif = Image.Exif()
    exif[274] = orientation
    buf = io.BytesIO()
    stored.save(buf, format="PNG", exif=exif)
    got = load_photo(buf.getvalue()).rgb
    assert np.array_equal(got, rgb)
    assert np.array_equal(got, np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buf.getvalue())))))


def test_errors_as_plain_data():
    from smp_preview.errors import INPUT_ERRORS, TooDark

    e = TooDark("The photo is too dark.", "Add light.", source="x.jpg")
    assert e.as_dict() == {"error_code": "too_dark", "error": "The photo is too dark.", "hint": "Add light.",
                           "source": "x.jpg"}
    assert len(INPUT_ERRORS) == 7
