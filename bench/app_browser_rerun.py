"""Slider change to new after image, as a person sees it: the served app in headless Chromium.

Starts `streamlit run app.py` on 127.0.0.1, uploads a 12 MP photo (a sample upscaled), then
presses the right arrow on the density slider and times until the slider view's after image
has changed (server rerun + transfer + the browser drawing the new frame). Prints the median.

    PYTHONPATH=. python bench/app_browser_rerun.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
FRAME = 'iframe[title="Before and after comparison slider"]'
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    im = Image.open(ROOT / "samples" / "biden.jpg").convert("RGB")
    f = (12e6 / (im.width * im.height)) ** 0.5
    photo = Path(tempfile.mkdtemp()) / "client_12mp.jpg"
    im.resize((round(im.width * f), round(im.height * f)), Image.LANCZOS).save(photo, quality=92)
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                               "--server.port", str(args.port), "--server.address", "127.0.0.1"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1300})
            page.set_default_timeout(120_000)
            page.goto(url)
            after = page.frame_locator(FRAME).locator("#after")
            first = after.get_attribute("src")
            page.locator('[data-testid="stSidebar"]').get_by_text("Upload", exact=True).click()
            t = time.perf_counter()
            page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(
                str(photo))
            while after.get_attribute("src") == first:
                page.wait_for_timeout(20)
            print(f"upload of {photo.stat().st_size / 1e6:.1f} MB, 12 MP photo to first after image: "
                  f"{time.perf_counter() - t:.2f} s")
            thumb = page.locator('[data-testid="stSlider"]').filter(has_text="Density").get_by_role("slider")
            times = []
            for _ in range(args.repeats):
                page.wait_for_timeout(1500)
                old = after.get_attribute("src")
                thumb.focus()
                t = time.perf_counter()
                thumb.press("ArrowRight")
                while True:
                    try:
                        if after.get_attribute("src", timeout=1000) != old:
                            break
                    except Exception:  # noqa: BLE001, S110 - the frame is being replaced
                        pass
                    page.wait_for_timeout(10)
                times.append((time.perf_counter() - t) * 1e3)
            print(f"density slider step to new after image in the browser: median {statistics.median(times):.0f} ms "
                  f"(min {min(times):.0f}, max {max(times):.0f}, n={len(times)})")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    main()
