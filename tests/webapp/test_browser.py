"""The pages in a real browser: Playwright drives Debian's /usr/bin/chromium against a live
server and a real worker (the embedded default). Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from ml.emotion.model import CLASSES
from ml.portrait.model import WEIGHTS as PORTRAIT_WEIGHTS
from tests.support import lfw
from tests.webapp.support import ARTIFACTS, DESKTOP, PHONE, PHOTO, gallery_names


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_upload_see_lookalikes_and_emotion_then_download(server, browser, tmp_path):
    page = browser.new_page(viewport=DESKTOP, accept_downloads=True)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server + "/")
    shot(page, "upload-desktop")
    page.set_input_files("#image", str(PHOTO))
    page.click("button[type=submit]")
    page.wait_for_selector(".lookalike .name", timeout=90_000)
    names = page.locator(".lookalike .name").all_text_contents()
    assert names and set(names) <= gallery_names()
    moods = page.locator(".emotion-label").all_text_contents()
    assert len(moods) == 2 and set(moods) <= set(CLASSES)
    assert page.locator(".face-box").count() == 2
    caveat = page.locator(".caveat").inner_text()  # where the % reads high (docs/fairness.md)
    assert "South Asian" in caveat and "children" in caveat
    page.wait_for_load_state("networkidle")
    shot(page, "results-desktop")

    page.check("#actors-only")
    actors = page.locator(".lookalike .name").all_text_contents()
    assert actors and page.locator(".badge").count() == len(actors)

    with page.expect_download() as download:
        page.click("text=Download share card >> nth=0")
    card = tmp_path / "card.png"
    download.value.save_as(card)
    assert Image.open(card).format == "PNG"

    assert PORTRAIT_WEIGHTS.exists(), "the shipped portrait weights are missing"
    page.fill("#blur", "30")  # range input: sets the value and fires input
    with page.expect_download() as download:
        page.click(".portrait a:text-is('JPEG')")
    saved = tmp_path / "portrait.jpg"
    download.value.save_as(saved)
    assert Image.open(saved).format == "JPEG"
    assert "strength=30" in download.value.url
    with page.expect_download() as download:
        page.click("text=Cut-out PNG")
    cut = Image.open(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert cut.mode == "RGBA"

    phone = browser.new_page(viewport=PHONE)
    phone.goto(page.url)
    phone.wait_for_selector(".lookalike .name", timeout=30_000)
    phone.wait_for_load_state("networkidle")
    shot(phone, "results-phone")
    phone.goto(server + "/")
    shot(phone, "upload-phone")

    page.click("text=Delete now")
    page.wait_for_selector(".flash")
    assert "deleted" in page.locator(".flash").inner_text()
    assert not errors, errors


def test_several_photos_of_me_give_one_answer_that_says_how_firm(server, browser):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(server + "/")
    page.set_input_files("#image", [str(lfw("Colin_Powell", 1)), str(lfw("Colin_Powell", 5)),
                                    str(lfw("Colin_Powell", 6))])
    assert page.locator("#previews img").count() == 3
    assert "3 photos of one person" in page.locator("#photo-count").inner_text()
    page.click("button[type=submit]")
    page.wait_for_selector(".lookalike .name", timeout=90_000)
    assert page.locator("article.face").count() == 1  # one person, one answer
    assert page.locator(".lookalike .name").first.inner_text() == "Colin Powell"
    firm = page.locator(".firmness").inner_text()
    assert "of your 3 photos on" in firm and "Colin Powell first" in firm
    assert "your 3 photos together" in page.locator(".note").first.inner_text()
    page.wait_for_load_state("networkidle")
    shot(page, "results-several-photos")


def test_bad_upload_shows_a_message(server, browser, tmp_path):
    page = browser.new_page(viewport=PHONE)
    page.goto(server + "/")
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a photo")
    page.set_input_files("#image", str(bad))
    page.click("button[type=submit]")
    assert "not an image" in page.locator(".error").first.inner_text()
    shot(page, "upload-error-phone")


def test_family_page_to_a_verdict(server, browser):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(server + "/family")
    photos = [lfw("Tony_Blair", 1), lfw("Tony_Blair", 9), lfw("Colin_Powell", 1)]
    inputs = page.locator("input[type=file]")
    for n, photo in enumerate(photos):
        inputs.nth(n).set_input_files(str(photo))
    page.click("#add-person")
    assert page.locator(".person-row").count() == 4  # the empty fourth row is ignored
    shot(page, "family-form-desktop")
    page.click("button[type=submit]")
    page.wait_for_selector(".verdict", timeout=90_000)
    assert page.locator(".verdict").inner_text().startswith("child looks most like mother")
    assert page.locator("table.matrix").count() == 2
    kinship = page.locator(".kinship-row td")
    assert kinship.count() == 2 and all(
        0 <= int(kinship.nth(n).inner_text().rstrip("%")) <= 100 for n in range(2))
    assert "right for" in page.locator(".kinship-about").inner_text()
    assert "less reliable" in page.locator("#results").inner_text()
    page.wait_for_load_state("networkidle")
    shot(page, "family-results-desktop")
    phone = browser.new_page(viewport=PHONE)
    phone.goto(page.url)
    phone.wait_for_selector(".verdict", timeout=30_000)
    phone.wait_for_load_state("networkidle")
    shot(phone, "family-results-phone")
