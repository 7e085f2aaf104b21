"""Several sessions at once: threads sharing the process-wide models give the serial results."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from smp_preview.errors import PreviewError, TooDark
from smp_preview.models import get_models
from smp_preview.photo import load_photo
from smp_preview.preview import preview_photo
from smp_preview.settings import Settings

PHOTOS = ["bald_S001224.jpg", "balding_A000055.jpg", "astronaut.jpg"]


def _render(data: bytes, name: str, settings: Settings):
    try:
        p = preview_photo(load_photo(data, name=name), settings, models=get_models())
    except PreviewError as exc:
        return type(exc), str(exc)
    return p.after.tobytes(), p.changed.tobytes(), p.report["dot_count"], p.report["px_per_mm"]


def test_threads_rendering_different_photos_match_the_serial_results(samples_dir):
    black = np.zeros((300, 300, 3), np.uint8)
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(black).save(buf, format="PNG")
    jobs = [((samples_dir / n).read_bytes(), n, Settings(seed=i, shade=("dark", "light")[i % 2]))
            for i, n in enumerate(PHOTOS)]
    jobs.append((buf.getvalue(), "black.png", Settings()))
    serial = [_render(*job) for job in jobs]
    assert serial[-1][0] is TooDark and all(isinstance(r[0], bytes) for r in serial[:-1])

    work = jobs * 3  # every photo three times, interleaved across 4 threads
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda job: _render(*job), work))
    for k, got in enumerate(concurrent):
        want = serial[k % len(jobs)]
        assert got == want, f"{work[k][1]} differs when rendered concurrently"


def test_one_models_object_is_shared_by_threads():
    with ThreadPoolExecutor(max_workers=4) as pool:
        seen = set(pool.map(lambda _: id(get_models()), range(8)))
    assert len(seen) == 1


def test_threads_loading_every_kind_of_file_match_the_serial_results():
    """The door (Pillow plugins, pillow-heif, LittleCMS transforms) is safe to use from many threads."""
    from conftest import load_corpus_module

    cases = load_corpus_module().build_corpus()

    def load(case):
        try:
            p = load_photo(case.data, name=case.name)
        except PreviewError as exc:
            return type(exc), str(exc)
        return p.rgb.tobytes(), p.shape, p.notes

    serial = [load(c) for c in cases]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(load, cases * 3))
    for k, got in enumerate(concurrent):
        assert got == serial[k % len(cases)], f"{cases[k % len(cases)].name} differs when loaded concurrently"
