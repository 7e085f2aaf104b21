"""The Streamlit app script runs and draws before and after (streamlit.testing)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_app_runs_on_the_default_sample_without_exceptions():
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert not at.error
    assert len(at.metric) >= 3
    assert any("Dots" == m.label for m in at.metric)


def test_density_slider_changes_the_dot_count():
    at = AppTest.from_file(APP, default_timeout=120).run()
    dots = next(m for m in at.metric if m.label == "Dots").value
    at.slider[1].set_value(140).run()  # density
    assert not at.exception
    dots2 = next(m for m in at.metric if m.label == "Dots").value
    assert dots2 != dots
