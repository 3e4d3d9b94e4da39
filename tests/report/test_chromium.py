"""The report as a person sees it: rendered by headless Chromium, every picture decoded, nothing logged.

The screenshot is kept in ``artifacts/report_screenshot.png`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.image import imread

from nasir.report import write_report

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def test_report_renders_in_chromium(study_file: Path, tmp_path: Path, browser) -> None:
    page = write_report(study_file, tmp_path / "report.html")
    images = browser.images(page)
    assert len(images) == 4 and all(complete and width > 100 and height > 100 for complete, width, height in images), images
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report_screenshot.png"
    console = browser.screenshot(page, shot)
    assert console == [], f"the page logged to the console: {console}"
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1280)
    ink = (pixels.mean(axis=2) < 0.9).mean()  # share of pixels that are not (near) white: text, boxes, plots
    assert ink > 0.01 and np.unique(pixels.reshape(-1, 3), axis=0).shape[0] > 200, f"blank-looking screenshot ({ink:.3f} ink)"
    print(f"report screenshot: {shot}")


def test_a_broken_picture_or_external_resource_is_caught(tmp_path: Path, browser) -> None:
    """The checks above can fail: a broken data URI has no size, an external image is a CSP console error."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
                    'img-src data:"></head><body><img src="data:image/png;base64,AAAA"><img src="https://example.org/x.png">'
                    "</body></html>")
    assert [width for _, width, _ in browser.images(page)] == [0, 0]
    assert any("Content Security Policy" in line for line in browser.screenshot(page, tmp_path / "broken.png", "400,300"))
