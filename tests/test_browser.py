"""End to end: the real app served by `streamlit run`, driven in headless Chromium.

Uses Debian's chromium (/usr/bin/chromium) through Playwright's Python API, without
Playwright's own browser download. Skips with the reason when either is missing.
Screenshots go to out/screenshots/ (or $SMP_SCREENSHOT_DIR).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SAMPLE = ROOT / "samples" / "bald_S001224.jpg"
IDLE_S = 12  # the kiosk's inactivity timeout in the test server
SHOTS = Path(os.environ.get("SMP_SCREENSHOT_DIR", ROOT / "out" / "screenshots"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
SLIDER_FRAME = 'iframe[title="Before and after comparison slider"]'

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)",
                allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = {**os.environ, "SMP_KIOSK_IDLE_SECONDS": str(IDLE_S), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"streamlit did not start on {url}:\n{out[-3000:]}")
        time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1300}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    pg.requests = []
    pg.on("request", lambda r: pg.requests.append(r.url))
    yield pg
    ctx.close()


def _after_src(page) -> str:
    loc = page.frame_locator(SLIDER_FRAME).locator("#after")
    loc.wait_for(state="attached")
    return loc.get_attribute("src")


def _wait_for_change(page, old: str, timeout_s: float = 60) -> str:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            src = _after_src(page)
            if src != old:
                return src
        except sync_api.Error:
            pass  # the frame is being replaced by the rerun
        page.wait_for_timeout(300)
    raise AssertionError("the after image did not change")


def _wait_idle(page) -> None:
    """Until Streamlit has finished the current run (no running indicator)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=90_000)


def _only_local_requests(page) -> None:
    hosts = {urlparse(u).hostname for u in page.requests if urlparse(u).scheme in ("http", "https", "ws", "wss")}
    outside = [u for u in page.requests if urlparse(u).hostname not in (None, "127.0.0.1")]
    assert hosts <= {"127.0.0.1"}, f"the page requested outside hosts: {outside[:5]}"


def test_consultant_uploads_changes_density_and_downloads_the_comparison(page, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(server)
    page.get_by_text("Photo from").wait_for()
    first = _after_src(page)  # the sample renders on opening
    page.locator('[data-testid="stSidebar"]').get_by_text("Upload", exact=True).click()
    page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        str(ROOT / "samples" / "balding_A000055.jpg"))
    uploaded = _wait_for_change(page, first)
    _wait_idle(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("balding_A000055.jpg").wait_for()
    page.screenshot(path=str(SHOTS / "consultant_uploaded.png"), full_page=True)

    # move the density slider with the keyboard, as a person can
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text="Density").get_by_role("slider")
    thumb.focus()
    for _ in range(6):
        thumb.press("ArrowRight")
    changed = _wait_for_change(page, uploaded)
    assert changed != uploaded
    _wait_idle(page)
    dots = page.locator('[data-testid="stMetric"]').filter(has_text="Dots").inner_text()
    assert "Dots" in dots
    page.screenshot(path=str(SHOTS / "consultant_density_changed.png"), full_page=True)
    area = page.locator('[data-testid="stMetric"]').filter(has_text="Treated area").inner_text()

    with page.expect_download() as dl:
        page.get_by_role("button", name="Comparison (PNG)").click()
    path = dl.value.path()
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert dl.value.suggested_filename == "smp-comparison-simulation.png"
    (SHOTS / "downloaded_comparison.png").write_bytes(data)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Consultation sheet (PDF)").click()
    pdf = Path(dl.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and b"simulation" in pdf
    (SHOTS / "consultation_sheet.pdf").write_bytes(pdf)

    page.get_by_text("Side by side", exact=True).click()
    page.locator('[data-testid="stImage"]').first.wait_for()
    _wait_idle(page)
    page.screenshot(path=str(SHOTS / "consultant_side_by_side.png"), full_page=True)
    for view, shot, sign in (("Zoom 100 %", "consultant_zoom.png", "After, 100 % (simulation)"),
                             ("Timeline", "consultant_timeline.png", "After 5 years (simulation)")):
        page.get_by_text(view, exact=True).click()
        page.get_by_text(sign).wait_for()
        _wait_idle(page)
        page.screenshot(path=str(SHOTS / shot), full_page=True)
        # still the uploaded photo, nothing added to the zone by the views
        assert page.locator('[data-testid="stMetric"]').filter(has_text="Treated area").inner_text() == area
    assert page.locator(ERRORS).count() == 0
    _only_local_requests(page)


def test_kiosk_flow_consent_photo_looks_and_clearing(page, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{server}/?mode=kiosk")
    page.get_by_role("button", name="I agree, let's start").click()
    page.get_by_role("tab", name="Upload a photo").click()
    page.screenshot(path=str(SHOTS / "kiosk_photo_step.png"))

    # a file that is not a photo: a friendly, specific message and no traceback
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"this is not an image"}])
    page.get_by_text("That file isn't a photo we can use.").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(SHOTS / "kiosk_not_an_image.png"))

    page.get_by_role("tab", name="Upload a photo").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(SAMPLE))
    fuller = _after_src(page)
    _wait_idle(page)
    assert page.locator(ERRORS).count() == 0
    page.screenshot(path=str(SHOTS / "kiosk_fuller.png"))
    page.get_by_role("button", name="Bold").click()
    _wait_for_change(page, fuller)
    _wait_idle(page)
    page.screenshot(path=str(SHOTS / "kiosk_bold.png"))
    page.set_viewport_size({"width": 800, "height": 1280})  # a tablet on a stand
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "kiosk_bold_tablet.png"))
    page.set_viewport_size({"width": 1400, "height": 1300})
    assert page.locator(ERRORS).count() == 0
    # nothing else on screen: no sidebar, no settings
    assert page.locator('[data-testid="stSidebar"]').count() == 0 or not page.locator(
        '[data-testid="stSidebar"]').is_visible()
    assert page.locator('[data-testid="stSlider"]').count() == 0

    page.get_by_role("button", name="Start over").click()
    page.get_by_role("button", name="I agree, let's start").wait_for()
    assert page.frame_locator(SLIDER_FRAME).locator("#after").count() == 0

    # walk away after a photo: the session clears itself
    page.get_by_role("button", name="I agree, let's start").click()
    page.get_by_role("tab", name="Upload a photo").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(SAMPLE))
    _after_src(page)
    page.get_by_role("button", name="I agree, let's start").wait_for(timeout=(IDLE_S + 30) * 1000)
    page.screenshot(path=str(SHOTS / "kiosk_cleared_after_idle.png"))
    _only_local_requests(page)


def test_two_clients_at_once_each_see_their_own_photo(browser, server, tmp_path):
    """Two browser sessions upload different photos at the same moment; each page shows the
    dot count its own photo gives (the served app shares one set of models between sessions)."""
    import numpy as np
    from PIL import Image

    from smp_preview.analysis import analyse
    from smp_preview.photo import load_photo
    from smp_preview.preview import render
    from smp_preview.settings import Settings

    paths, expected = [], []
    for name in ("bald_S001224.jpg", "balding_A000055.jpg"):  # mirrored: not in the app's cache yet
        p = tmp_path / f"mirrored_{name}"
        Image.fromarray(np.asarray(Image.open(ROOT / "samples" / name).convert("RGB"))[:, ::-1]).save(p, quality=92)
        paths.append(p)
        expected.append(render(analyse(load_photo(p)), Settings()).report["dot_count"])
    assert expected[0] != expected[1]

    pages = []
    for _ in paths:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        pg.set_default_timeout(90_000)
        pg.goto(server)
        pg.get_by_text("Photo from").wait_for()
        _after_src(pg)
        pg.locator('[data-testid="stSidebar"]').get_by_text("Upload", exact=True).click()
        pg.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').wait_for(state="attached")
        pages.append(pg)
    for pg, p in zip(pages, paths):  # both uploads go out before either is analysed
        pg.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(p))
    for pg, p, dots in zip(pages, paths, expected):
        metric = pg.locator('[data-testid="stMetric"]').filter(has_text="Dots")
        deadline = time.time() + 90
        while f"{dots:,}" not in metric.inner_text() and time.time() < deadline:
            pg.wait_for_timeout(300)
        assert f"{dots:,}" in metric.inner_text()
        assert pg.locator(ERRORS).count() == 0
    pages[0].screenshot(path=str(SHOTS / "two_clients_first.png"))
    for pg in pages:
        pg.context.close()


def test_consultant_paints_a_scar_on_the_photo(page, server):
    """Scars-only mode treats nothing until a scar is painted on the canvas over the photo."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(server)
    page.get_by_text("Photo from").wait_for()
    _after_src(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Treat").click()
    page.get_by_role("option", name="Scars only").click()
    page.get_by_text("Scars only: paint the scars").wait_for()
    assert page.frame_locator(SLIDER_FRAME).locator("#after").count() == 0
    canvas = page.locator("canvas.upper-canvas").nth(0)  # the scar canvas; nth(1) is the hairline's
    canvas.wait_for()
    box = canvas.bounding_box()
    x, y = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.12
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 15):
        page.mouse.move(x + i * box["width"] * 0.01, y + i * box["height"] * 0.004)
    page.mouse.up()
    _after_src(page)
    _wait_idle(page)
    dots = page.locator('[data-testid="stMetric"]').filter(has_text="Dots").inner_text()
    assert int(dots.split("\n")[-1].replace(",", "")) > 0
    assert page.locator(ERRORS).count() == 0
    page.screenshot(path=str(SHOTS / "consultant_scar_painted.png"), full_page=True)

    # hairline points clicked on the photo: used when the pipeline takes them, else said so
    box = page.locator("canvas.upper-canvas").nth(1).bounding_box()
    for fx in (0.3, 0.5, 0.7):
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * 0.15)
        page.wait_for_timeout(400)
    page.get_by_text(re.compile("Drawn hairlines come with|Use these points as the hairline")).wait_for()
    _wait_idle(page)
    assert page.locator(ERRORS).count() == 0
    assert int(page.locator('[data-testid="stMetric"]').filter(has_text="Dots").inner_text().split("\n")[-1]
               .replace(",", "")) > 0  # the painted scar is still treated
    page.screenshot(path=str(SHOTS / "consultant_hairline_points.png"), full_page=True)


def _metric_value(page, label: str) -> float:
    text = page.locator('[data-testid="stMetric"]').filter(has_text=label).inner_text().split("\n")[-1]
    return float(re.sub(r"[^0-9.]", "", text))


def test_consultant_paints_an_area_to_leave_untouched(page, server):
    """Paint over half of the bald top on the 'leave untouched' canvas: the treated area shrinks,
    and the Analysis view shows what was found with that area greyed."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(server)
    page.get_by_text("Photo from").wait_for()
    old = _after_src(page)
    _wait_idle(page)
    area = _metric_value(page, "Treated area")
    page.get_by_text("Scars, a drawn hairline and areas to leave untouched").click()
    canvas = page.locator("canvas.upper-canvas").nth(2)  # scars, hairline points, then this one
    canvas.wait_for()
    _wait_idle(page)
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = canvas.bounding_box()
    for row in (0.12, 0.16, 0.20, 0.24, 0.28):  # strokes across the left half of the top of the head
        y = box["y"] + box["height"] * row
        page.mouse.move(box["x"] + box["width"] * 0.2, y)
        page.mouse.down()
        for i in range(1, 11):
            page.mouse.move(box["x"] + box["width"] * (0.2 + i * 0.03), y)
        page.mouse.up()
    deadline = time.time() + 60
    while _metric_value(page, "Treated area") >= 0.8 * area and time.time() < deadline:
        page.wait_for_timeout(500)
    _wait_idle(page)
    assert page.locator(ERRORS).count() == 0
    assert _metric_value(page, "Treated area") < 0.8 * area
    assert _after_src(page) != old
    page.locator("button").filter(has_text=re.compile(r"^Analysis$")).click()  # the view, not the hint's word
    page.get_by_text("What the preview found").wait_for()
    _wait_idle(page)
    assert page.locator(ERRORS).count() == 0
    page.screenshot(path=str(SHOTS / "consultant_left_untouched.png"), full_page=True)
