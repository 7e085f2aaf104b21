"""Fuzzing the door and the pipeline: whatever bytes come in, the outcome is a photo (a preview)
or one of the documented errors, never a crash.

Budget: a few seconds on 2 busy cores. ``SMP_FUZZ_SCALE=20 pytest tests/test_fuzz.py`` runs twenty
times as many examples; in CI (``CI`` set) the examples are derandomized so a run is repeatable.
"""

from __future__ import annotations

import io
import os
from functools import cache

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from smp_preview.errors import PreviewError
from smp_preview.photo import Photo, load_photo
from smp_preview.preview import Preview, preview_photo

SCALE = float(os.environ.get("SMP_FUZZ_SCALE", "1"))
CI = bool(os.environ.get("CI"))


def budget(n: int):
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, derandomize=CI, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


@cache
def real_files() -> dict[str, bytes]:
    """Small real photos as JPEG (baseline and progressive), PNG, WebP and HEIC bytes."""
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "samples" / "bald_S001224.jpg"
    im = Image.open(sample).convert("RGB")
    out = {"jpeg": sample.read_bytes()}
    for key, fmt, kw in (("progressive", "JPEG", {"progressive": True, "quality": 85}), ("png", "PNG", {}),
                         ("webp", "WEBP", {"quality": 80}), 
                         ("heic", "HEIF", {"quality": 60, "enc_params": {"preset": "ultrafast"}}),
                         ("gif", "GIF", {}), ("tiff", "TIFF", {"compression": "tiff_lzw"})):
        buf = io.BytesIO()
        im.save(buf, format=fmt, **kw)
        out[key] = buf.getvalue()
    return out


def load_or_error(data: bytes) -> Photo | PreviewError:
    try:
        photo = load_photo(data, name="fuzz.jpg")
    except PreviewError as exc:
        assert str(exc).startswith("fuzz.jpg: ") and exc.message and exc.hint
        return exc
    assert photo.rgb.dtype == np.uint8 and photo.rgb.ndim == 3 and photo.rgb.shape[2] == 3
    assert min(photo.rgb.shape[:2]) >= 64
    return photo


def pipeline_or_error(photo: Photo, models) -> Preview | PreviewError | None:
    try:
        p = preview_photo(photo, models=models)
    except PreviewError as exc:
        return exc
    assert p.after.shape == photo.rgb.shape and p.after.dtype == np.uint8
    return p


# ---------------------------------------------------------------- the loader


@budget(300)
@given(st.binary(max_size=4096))
def test_random_bytes_are_refused_cleanly(data):
    assert isinstance(load_or_error(data), PreviewError) or len(data) > 0


@budget(60)
@given(kind=st.sampled_from(["jpeg", "progressive", "png", "webp", "heic", "gif", "tiff"]),
       cut=st.floats(0.0, 1.0))
def test_truncated_files_load_or_fail_cleanly(kind, cut):
    data = real_files()[kind]
    load_or_error(data[: int(len(data) * cut)])


@budget(80)
@given(kind=st.sampled_from(["jpeg", "progressive", "png", "webp", "heic", "gif", "tiff"]),
       flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 7)), min_size=1, max_size=8),
       in_header=st.booleans())
def test_bit_flipped_files_load_or_fail_cleanly(kind, flips, in_header):
    data = bytearray(real_files()[kind])
    span = min(len(data), 600) if in_header else len(data)
    for where, bit in flips:
        data[int(where * span)] ^= 1 << bit
    load_or_error(bytes(data))


@budget(60)
@given(kind=st.sampled_from(["jpeg", "png", "webp", "tiff"]), junk=st.binary(min_size=1, max_size=64),
       where=st.floats(0.0, 1.0))
def test_spliced_junk_loads_or_fails_cleanly(kind, junk, where):
    data = real_files()[kind]
    k = int(len(data) * where)
    load_or_error(data[:k] + junk + data[k:])


MODES = ["RGB", "RGBA", "L", "LA", "P", "1", "CMYK", "I;16", "I", "F"]
FORMATS = {"PNG": ["RGB", "RGBA", "L", "LA", "P", "1", "I;16"], "JPEG": ["RGB", "L", "CMYK"],
           "WEBP": ["RGB", "RGBA"], "TIFF": ["RGB", "RGBA", "L", "CMYK", "I;16", "I", "F", "1"], "GIF": ["P", "L"],
           "BMP": ["RGB", "L", "P", "1"], "HEIF": ["RGB", "RGBA"]}


@st.composite
def small_images(draw, max_side: int = 160, min_side: int = 1):
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(FORMATS[fmt]))
    w, h = draw(st.integers(min_side, max_side)), draw(st.integers(min_side, max_side))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    smooth = draw(st.booleans())
    base = rng.random((max(1, h // 8), max(1, w // 8), 4)) if smooth else rng.random((h, w, 4))
    arr = np.asarray(Image.fromarray((base * 255).astype(np.uint8), "RGBA").resize((w, h)))
    im = Image.fromarray(arr, "RGBA")
    if mode in ("I;16", "I", "F"):
        grey = np.asarray(im.convert("L")).astype(np.float64) * draw(st.sampled_from([1.0, 257.0, 1 / 255]))
        im = Image.fromarray(grey.astype({"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]))
        if mode == "I;16":
            im = im.convert("I;16") if im.mode != "I;16" else im
    elif mode == "P":
        im = im.convert("RGB").quantize(draw(st.integers(2, 256)))
    else:
        im = im.convert(mode)
    orientation = draw(st.integers(0, 9))
    kw = {}
    if orientation and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        exif = Image.Exif()
        exif[0x0112] = orientation
        kw["exif"] = exif
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


@budget(60)
@given(small_images())
def test_random_small_images_load_or_fail_cleanly(data):
    load_or_error(data)


# ---------------------------------------------------------------- the whole pipeline


def test_pipeline_on_random_images_gives_a_preview_or_a_documented_error(models):
    @budget(12)
    @given(data=small_images(max_side=256, min_side=64))
    def run(data):
        got = load_or_error(data)
        if isinstance(got, Photo):
            pipeline_or_error(got, models)

    run()


def test_pipeline_on_bit_flipped_photos_gives_a_preview_or_a_documented_error(models):
    @budget(12)
    @given(kind=st.sampled_from(["jpeg", "png", "webp", "heic"]),
           flips=st.lists(st.tuples(st.floats(0.3, 1.0, exclude_max=True), st.integers(0, 7)),
                          min_size=1, max_size=6))
    def run(kind, flips):
        data = bytearray(real_files()[kind])
        for where, bit in flips:
            data[int(where * len(data))] ^= 1 << bit
        got = load_or_error(bytes(data))
        if isinstance(got, Photo):
            pipeline_or_error(got, models)

    run()
