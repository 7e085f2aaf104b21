"""The app script under streamlit.testing: both modes, the messages, reruns, two clients at once."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SAMPLES = ROOT / "samples"
TIMEOUT = 120


def jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def sample_rgb(name: str) -> np.ndarray:
    return np.asarray(Image.open(SAMPLES / name).convert("RGB"))


def consultant(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def upload(at: AppTest, data: bytes, name: str = "client.jpg") -> AppTest:
    at.radio(key="source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value((name, data, "image/jpeg"))
    return at.run()


def kiosk_to_photo_step() -> AppTest:
    at = consultant(mode="kiosk")
    assert not at.exception
    at.button(key="kiosk_consent").click().run()
    assert at.session_state["kiosk_step"] == "photo"
    return at


def kiosk_upload(at: AppTest, data: bytes, name: str = "me.jpg") -> AppTest:
    nonce = at.session_state["kiosk_nonce"] if "kiosk_nonce" in at.session_state else 0
    at.file_uploader(key=f"kiosk_upload_{nonce}").set_value((name, data, "image/jpeg"))
    return at.run()


# --- consultant mode ------------------------------------------------------------------------

def test_consultant_opens_on_a_sample_with_the_plan_and_the_numbers():
    at = consultant()
    assert not at.exception and not at.error
    labels = {m.label for m in at.metric}
    assert {"Treated area", "Dots", "Density reached", "Sessions", "Scale"} <= labels
    assert int(metric(at, "Dots").replace(",", "")) > 100
    assert "×" in metric(at, "Sessions") and "h" in metric(at, "Sessions")
    assert any("Scale from the" in c.value for c in at.caption)
    assert [b.label for b in at.get("download_button")] == ["After image (PNG)", "Comparison (PNG)",
                                                            "Consultation sheet (PDF)"]


def test_a_density_change_changes_the_after_image_and_the_dot_count():
    at = consultant()
    at.segmented_control(key="view").set_value("Side by side").run()
    before_url, after_url = (img.value[0] for img in at.image[:2])
    dots = int(metric(at, "Dots").replace(",", ""))
    at.slider(key="density_pct").set_value(130).run()
    assert not at.exception
    assert at.image[0].value[0] == before_url  # the photo itself is unchanged
    assert at.image[1].value[0] != after_url
    assert int(metric(at, "Dots").replace(",", "")) > dots * 1.3
    assert any("= 130 dots per cm²" in c.value for c in at.caption)


@pytest.mark.parametrize("view", ["Slider", "Zoom 100 %", "Timeline", "Analysis"])
def test_every_view_renders(view):
    at = consultant()
    at.segmented_control(key="view").set_value(view).run()
    assert not at.exception and not at.error
    if view == "Analysis":
        assert len(at.image) == 1 and at.image[0].captions[0].startswith("What the preview found: scalp skin pink")
    if view == "Timeline":
        captions = [c for img in at.image for c in img.captions]
        assert captions[:3] == ["After session 1 (fresh) (simulation)", "After session 2 (fresh) (simulation)",
                                "After session 3 (fresh) (simulation)"]
        assert captions[3:] == ["Healed (simulation)", "After 5 years (simulation)"]


def test_a_close_up_wider_than_the_photo_asks_for_a_measured_width():
    """The bald sample's scalp filling the frame: no face and no outline, so the scale assumes
    the photo is 15 cm wide on the scalp; the app says so, and the width the consultant measures
    sets the scale (here 8 cm: 1.9 times the assumed one)."""
    rgb = sample_rgb("bald_S001224.jpg")
    crop = np.ascontiguousarray(rgb[60:150, 110:230])
    at = upload(consultant(), jpeg(crop), "crown.jpg")
    assert not at.exception and not at.error
    assert any("The head fills the photo's width" in w.value for w in at.warning)
    assumed = float(metric(at, "Scale").split()[0])
    at.checkbox(key="scale_measured").check().run()
    at.number_input(key="scale_width_cm_crown.jpg").set_value(8.0).run()
    assert not at.exception and not at.error
    measured = float(metric(at, "Scale").split()[0])
    assert abs(measured - crop.shape[1] / 80.0) < 0.01
    assert 1.6 < measured / assumed < 2.2
    assert any("Scale from the consultant's measurement" in c.value for c in at.caption)
    assert not any("The head fills the photo's width" in w.value for w in at.warning)  # answered


def test_a_black_and_white_photo_gets_a_warning_in_both_modes():
    """Grey or white hair may read as scalp in a photo without colour: the consultant and the
    kiosk say so (a colour photo does not get the warning)."""
    grey = np.repeat(np.asarray(Image.fromarray(sample_rgb("balding_A000055.jpg")).convert("L"))[..., None], 3, 2)
    at = upload(consultant(), jpeg(grey), "grey.jpg")
    assert not at.exception and not at.error
    assert any("black and white" in w.value for w in at.warning)
    at = upload(consultant(), jpeg(sample_rgb("balding_A000055.jpg")), "colour.jpg")
    assert not any("black and white" in w.value for w in at.warning)
    at = consultant(mode="kiosk")
    at.button(key="kiosk_consent").click().run()
    kiosk_upload(at, jpeg(grey))
    assert not at.exception and not at.error
    assert any("black and white" in w.value for w in at.warning)


def test_consultant_upload_of_a_file_that_is_not_an_image_says_so():
    at = consultant()
    upload(at, b"just some text, not a photo", "notes.jpg")
    assert not at.exception
    assert len(at.error) == 1
    assert "not an image" in at.error[0].value
    assert not at.metric  # nothing rendered from a bad photo


# --- kiosk mode ---------------------------------------------------------------------------------

def test_kiosk_flow_consent_photo_three_looks_and_start_over():
    at = consultant(mode="kiosk")
    assert not at.exception
    assert not at.slider and not at.metric  # nothing of the consultant's tools
    assert "not saved" in " ".join(m.value for m in at.markdown)
    at.button(key="kiosk_consent").click().run()
    kiosk_upload(at, (SAMPLES / "bald_S001224.jpg").read_bytes())
    assert not at.exception and not at.error
    assert at.session_state["kiosk_step"] == "result"
    frames = {}
    for look in ("natural", "fuller", "bold"):
        at.button(key=f"kiosk_look_{look}").click().run()
        assert not at.exception
        frames[look] = at.get("iframe")[0].proto.srcdoc
    assert len(set(frames.values())) == 3  # three different looks
    at.button(key="kiosk_restart").click().run()
    assert "kiosk_analysis" not in at.session_state
    assert at.button(key="kiosk_consent")


def test_kiosk_session_clears_itself_after_inactivity():
    at = kiosk_to_photo_step()
    kiosk_upload(at, (SAMPLES / "bald_S001224.jpg").read_bytes())
    assert at.session_state["kiosk_step"] == "result"
    at.session_state["kiosk_last_active"] = time.time() - 24 * 3600
    at.run()
    assert "kiosk_analysis" not in at.session_state
    assert at.button(key="kiosk_consent")


def _no_face() -> bytes:  # the studio backdrop alone, enlarged
    return jpeg(sample_rgb("bald_S001224.jpg")[:60, :60].repeat(8, axis=0).repeat(8, axis=1))


def _two_faces() -> bytes:
    face = sample_rgb("obama.jpg")
    return jpeg(np.concatenate([face, face], axis=1))


def _too_dark() -> bytes:
    return jpeg((sample_rgb("biden.jpg") * 0.04).astype(np.uint8))


def _too_small() -> bytes:
    return jpeg(sample_rgb("bald_S001224.jpg")[::8, ::8][:40, :40].copy())


@pytest.mark.parametrize("make, title", [
    (_no_face, "We couldn't find a face in this photo."),
    (_two_faces, "There is more than one person in this photo."),
    (_too_dark, "This photo is too dark."),
    (_too_small, "This photo is too small."),
    (lambda: b"GIF89a not really", "That file isn't a photo we can use."),
])
def test_kiosk_explains_photos_that_cannot_work(make, title):
    at = kiosk_to_photo_step()
    kiosk_upload(at, make())
    assert not at.exception
    assert at.session_state["kiosk_step"] == "photo"
    assert len(at.error) == 1
    assert title in at.error[0].value
    assert "Traceback" not in at.error[0].value and ".py" not in at.error[0].value


# --- two clients at once ----------------------------------------------------------------------------

def test_two_sessions_at_once_each_get_their_own_correct_result():
    """Streamlit serves each session in its own thread and the app shares one set of MediaPipe
    models (st.cache_resource): two analyses at once must give what each gives alone.

    (AppTest swaps a process-wide mock runtime in and out, so two AppTests cannot run at once;
    tests/test_browser.py drives two real browser sessions at once against the served app.)
    """
    from smp_preview.analysis import analyse
    from smp_preview.models import get_models
    from smp_preview.photo import load_photo
    from smp_preview.preview import render
    from smp_preview.settings import Settings

    photos = [(SAMPLES / n).read_bytes() for n in ("bald_S001224.jpg", "balding_A000055.jpg")]

    def run(data: bytes):
        a = analyse(load_photo(data, name="client.jpg"), get_models())
        return a.labels.copy(), render(a, Settings()).report["dot_count"]

    expected = [run(p) for p in photos]
    assert expected[0][1] != expected[1][1]
    barrier = threading.Barrier(4)
    results: dict = {}

    def client(i: int) -> None:
        try:
            barrier.wait(timeout=120)
            results[i] = run(photos[i % 2])
        except Exception as exc:  # noqa: BLE001 - reported in the test's thread
            results[i] = exc

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    for i in range(4):
        assert not isinstance(results[i], Exception), results[i]
        labels, dots = results[i]
        assert dots == expected[i % 2][1]
        assert np.array_equal(labels, expected[i % 2][0])


def test_kiosk_takes_a_camera_photo():
    at = kiosk_to_photo_step()
    at.camera_input(key="kiosk_camera_0").set_value(("shot.jpg", (SAMPLES / "bald_S001224.jpg").read_bytes(),
                                                     "image/jpeg")).run()
    assert not at.exception and not at.error
    assert at.session_state["kiosk_step"] == "result"
    assert "After (simulation)" in at.get("iframe")[0].proto.srcdoc


def test_server_config_suits_a_clinic():
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"] | {"headless": True, "maxUploadSize": 25, "enableXsrfProtection": True,
                            "enableCORS": True, "fileWatcherType": "none"} == cfg["server"]
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["client"]["showErrorDetails"] == "none" and cfg["client"]["toolbarMode"] == "minimal"
