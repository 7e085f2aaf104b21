"""Rerun time of the app for a slider change on a 12-megapixel photo (server side).

Upscales a sample to about 12 MP, uploads it in consultant mode with streamlit's AppTest,
then moves the density slider and times each full script rerun (render, display images, the
slider's inline images). Prints medians in ms. The first analysis is timed once.

    PYTHONPATH=. python bench/app_rerun.py [--repeats 7] [--sample samples/biden.jpg]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def twelve_mp(path: Path) -> bytes:
    im = Image.open(path).convert("RGB")
    f = (12e6 / (im.width * im.height)) ** 0.5
    big = im.resize((round(im.width * f), round(im.height * f)), Image.LANCZOS)
    buf = io.BytesIO()
    big.save(buf, format="JPEG", quality=92)
    print(f"photo: {path.name} upscaled to {big.width}x{big.height} ({big.width * big.height / 1e6:.1f} MP), "
          f"{len(buf.getvalue()) / 1e6:.1f} MB JPEG")
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--sample", default=str(ROOT / "samples" / "biden.jpg"))
    args = ap.parse_args()
    data = twelve_mp(Path(args.sample))

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.radio(key="source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value(("client.jpg", data, "image/jpeg"))
    t = time.perf_counter()
    at.run()
    print(f"first run with the new photo (analysis included): {(time.perf_counter() - t) * 1e3:.0f} ms")
    assert not at.exception and not at.error, (at.exception, at.error)

    for view in ("Slider", "Side by side", "Zoom 100 %"):
        at.segmented_control(key="view").set_value(view).run()
        times, dots = [], set()
        for i in range(args.repeats):
            pct = 60 + 5 * (i % 8)
            t = time.perf_counter()
            at.slider(key="density_pct").set_value(pct).run()
            times.append((time.perf_counter() - t) * 1e3)
            dots.add(next(m.value for m in at.metric if m.label == "Dots"))
        assert not at.exception
        print(f"view {view!r}: density slider app rerun median {statistics.median(times):.0f} ms "
              f"(min {min(times):.0f}, max {max(times):.0f}, n={len(times)}, {len(dots)} distinct dot counts)")

    # the pipeline's own share under the same load, for comparison
    from smp_preview.analysis import analyse
    from smp_preview.photo import load_photo
    from smp_preview.preview import render
    from smp_preview.settings import Settings

    analysis = analyse(load_photo(data, name="client.jpg"))
    times = []
    for i in range(args.repeats):
        t = time.perf_counter()
        render(analysis, Settings(density_per_cm2=60 + 5 * (i % 8)))
        times.append((time.perf_counter() - t) * 1e3)
    print(f"preview.render alone: median {statistics.median(times):.0f} ms (min {min(times):.0f}, n={len(times)})")


if __name__ == "__main__":
    main()
