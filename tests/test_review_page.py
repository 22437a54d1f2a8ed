"""The review page in real headless Chromium: upload a photo, see its words, correct, delete, draw, save.

Runs CRAFT + PP-OCR behind a real uvicorn server on a loopback port and drives Debian's ``chromium`` with
``chromium-driver`` through Selenium. Skipped (with the reason) only where those two programs are absent;
``.ci/run`` installs them. Set ``SCENEOCR_SCREENSHOT=docs/review-page.png`` to keep the screenshot.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from pipeline.core import Pipeline
from pipeline.serve import ServeOptions, create_app

from serve_fakes import running_server

REPO = Path(__file__).resolve().parents[1]
STREET = REPO / "examples" / "street.jpg"
CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None)
CHROMEDRIVER = next((p for p in (shutil.which("chromedriver"), "/usr/bin/chromedriver") if p and Path(p).exists()),
                    None)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1600,1000")

pytestmark = [
    pytest.mark.system,
    pytest.mark.weights,
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium "
                              "chromium-driver; .ci/run does)"),
]


def score_color(score: float) -> str:
    """pipeline.output.overlay.score_color as the page writes it."""
    from pipeline.output.overlay import score_color as rgb

    return "rgb(%d, %d, %d)" % rgb(score)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_review_page_reads_corrects_and_saves(browser, craft, ppocr, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from pipeline.data.export_crops import export_crops

    folder = tmp_path / "corrections"
    app = create_app(Pipeline(craft, ppocr), ServeOptions(corrections_dir=str(folder)))
    with running_server(app) as url:
        assert httpx.get(url + "/healthz").status_code == 200
        browser.get(url + "/")
        assert browser.title == "sceneocr review"
        browser.find_element(By.ID, "files").send_keys(str(STREET))
        wait = WebDriverWait(browser, 90)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#words .word")) >= 10)

        # every word drawn over the photo, its text beside it coloured by confidence
        labels = browser.find_elements(By.CSS_SELECTOR, "#labels text")
        texts = [label.text for label in labels]
        assert {"CORNER", "BAKERY", "Taxi", "42"} <= set(texts), texts
        scores = {g.get_attribute("data-index"): float(g.get_attribute("data-score"))
                  for g in browser.find_elements(By.CSS_SELECTOR, "#words .word")}
        for label in labels:
            index = label.get_attribute("data-index")
            assert label.get_attribute("fill") == score_color(scores[index]), label.text
        # the page redraws its words after each edit: keep their indices, not the elements
        index_of = {label.text: label.get_attribute("data-index") for label in labels}
        assert browser.find_element(By.ID, "photo").get_attribute("width") == "1280"

        # zoom (wheel) and pan (drag) move the view
        canvas = browser.find_element(By.ID, "canvas")
        before = browser.find_element(By.ID, "stage").get_attribute("transform")
        ActionChains(browser).scroll_from_origin(ScrollOrigin.from_element(canvas), 0, -240).perform()
        zoomed = int(browser.find_element(By.ID, "zoom-level").text.rstrip("%"))
        ActionChains(browser).click_and_hold(canvas).move_by_offset(80, 40).release().perform()
        assert browser.find_element(By.ID, "stage").get_attribute("transform") != before
        browser.find_element(By.ID, "fit").click()
        assert zoomed > int(browser.find_element(By.ID, "zoom-level").text.rstrip("%"))

        # correct one word: click its outline, type, Enter
        index = index_of["Taxi"]
        browser.find_element(By.CSS_SELECTOR, f'#words .word[data-index="{index}"] polygon').click()
        box = browser.find_element(By.ID, "word-text")
        assert box.get_attribute("value") == "Taxi"
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys("TAXI RANK", Keys.ENTER)
        edited = browser.find_element(By.CSS_SELECTOR, f'#words .word[data-index="{index}"]')
        assert "edited" in edited.get_attribute("class")

        # delete another
        index = index_of["42"]
        browser.find_element(By.CSS_SELECTOR, f'#words .word[data-index="{index}"] polygon').click()
        browser.find_element(By.ID, "delete").click()
        assert not browser.find_elements(By.CSS_SELECTOR, f'#words .word[data-index="{index}"]')

        # draw a missing word's box over the empty road, name it
        browser.find_element(By.ID, "draw").click()
        ActionChains(browser).move_to_element_with_offset(canvas, -200, 300).click_and_hold() \
            .move_by_offset(120, 40).release().perform()
        box = browser.find_element(By.ID, "word-text")
        assert box.get_attribute("value") == ""
        box.send_keys("DRAWN", Keys.ENTER)
        assert "3 corrected" in browser.find_element(By.CSS_SELECTOR, "#photo-list li .meta").text  # fixed, drawn, deleted
        time.sleep(0.2)  # let the selection highlight settle for the screenshot

        # save: the server writes the photo and its corrected record
        browser.find_element(By.ID, "save").click()
        wait.until(lambda d: "saved" in d.find_element(By.ID, "status").text)
        shot = Path(os.environ.get("SCENEOCR_SCREENSHOT") or tmp_path / "review-page.png")
        browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 50_000
        assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []

    (stored,) = [json.loads(line) for line in (folder / "corrections.jsonl").read_text().splitlines()]
    words = [w["text"] for line in stored["lines"] for w in line["words"]]
    assert "TAXI RANK" in words and "DRAWN" in words and "42" not in words and "Taxi" not in words
    assert len(words) == len(scores) + 1 - 1  # one drawn, one deleted
    assert (folder / stored["image"]).read_bytes() == STREET.read_bytes()
    drawn = next(w for line in stored["lines"] for w in line["words"] if w["text"] == "DRAWN")
    (x0, y0), (x1, y1) = drawn["quad"][0], drawn["quad"][2]
    assert 100 < x1 - x0 < 200 and 30 < y1 - y0 < 80  # 120 x 40 screen px at the fitted zoom (~0.8)
    report = export_crops(folder / "corrections.jsonl", tmp_path / "crops")
    assert report.crops == len(words) and report.missing_images == ()
    assert "\tTAXI RANK\n" in (tmp_path / "crops" / "labels.tsv").read_text()
