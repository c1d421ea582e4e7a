"""The upload page in a real browser: drop, pick, paste, duplicates, refusals and retries."""

from __future__ import annotations

import re

import pytest

from gallery.storage.local import FileStorage
from tests.browser import pages
from tests.browser.conftest import UPLOADER
from tests.browser.pages import expect
from tests.imaging import fixtures
from tests.support.faulty import FaultyStorage

API = "/api/v1/images"


@pytest.fixture
def storage(tmp_path):
    """The folder bucket behind a wrapper a test can make fail (it passes everything through
    until told otherwise)."""
    return FaultyStorage(FileStorage(tmp_path / "bucket"))


@pytest.fixture
def answers(page):
    """Every answer the API gave to an upload, in order (``[playwright Response]``)."""
    seen = []
    page.on("response", lambda r: seen.append(r)
            if r.request.method == "POST" and r.url.endswith(API) else None)
    return seen


@pytest.fixture
def upload_page(page, users):
    """The upload page, signed in as the uploader."""
    pages.sign_in(page, *UPLOADER)
    page.goto("/upload")
    expect(page.locator("#dropzone")).to_be_visible()
    return page


def item(page, name: str):
    """The list entry of the file called ``name``."""
    return page.locator("ul#upload-list li.upload-item").filter(
        has=page.locator(".upload-name", has_text=name))


def expect_stored(page, name: str, state: str = "done") -> None:
    entry = item(page, name)
    expect(entry).to_have_attribute("data-state", state)
    expect(entry.locator("progress")).to_have_js_property("value", 100)


def server_message(answers, status: int) -> str:
    """The message of the (single) API answer with ``status``."""
    matching = [r for r in answers if r.status == status]
    assert len(matching) == 1, f"expected one {status} answer, got {[r.status for r in answers]}"
    return matching[0].json()["error"]["message"]


def photos(count: int, start: int = 0) -> list[tuple[str, str, bytes]]:
    made = []
    for n in range(start, start + count):
        data, name = pages.photo(n, size=(480, 320))
        made.append((name, "image/jpeg", data))
    return made


def test_drop_uploads_each_file_and_shows_the_servers_refusal(upload_page, answers, runtime):
    page = upload_page
    good = photos(3)
    pages.drop_files(page, "#dropzone", good + [pages.NOT_AN_IMAGE])

    expect(page.locator("ul#upload-list li.upload-item")).to_have_count(4)
    for name, _, _ in good:
        expect_stored(page, name)
    refused = item(page, "notes.jpg")
    expect(refused).to_have_attribute("data-state", "error")
    message = server_message(answers, 415)
    expect(refused.locator(".upload-message")).to_contain_text(message)
    # Sending the same file again would be refused again: no Retry, and the reason.
    expect(refused.locator("button.retry")).to_have_count(0)
    expect(refused.locator(".upload-message")).to_contain_text("Sending it again would not help")
    summary = page.locator("#upload-summary")
    expect(summary).to_contain_text("Done: 3 of 4 stored, 1 failed")
    expect(page.locator("#upload-announce")).to_have_attribute("role", "status")
    expect(page.locator("#upload-announce")).to_contain_text("Done: 3 of 4 stored")

    page.goto("/")
    tiles = page.locator("ul.grid > li > a.tile[data-id]")
    expect(tiles).to_have_count(3)
    stored = {image["id"] for image in runtime.images.list_images(limit=10)[0]}
    assert {tiles.nth(i).get_attribute("data-id") for i in range(3)} == stored
    expect(page.locator("ul.grid img[alt='Harbour at dawn']")).to_be_visible()


def test_picker_uploads_and_a_damaged_file_is_refused(upload_page, answers):
    page = upload_page
    good = photos(2, start=3)
    files = [pages.file_payload(*f) for f in good]
    files.append(pages.file_payload("broken.jpg", "image/jpeg", fixtures.jpeg_truncated()))
    page.locator("input#images[type=file][name=images][multiple]").set_input_files(files)

    for name, _, _ in good:
        expect_stored(page, name)
    broken = item(page, "broken.jpg")
    expect(broken).to_have_attribute("data-state", "error")
    expect(broken.locator(".upload-message")).to_contain_text(server_message(answers, 422))
    expect(broken.locator("button.retry")).to_have_count(0)
    expect(page.locator("#upload-summary")).to_contain_text("2 of 3 stored")


def test_a_file_the_gallery_cannot_take_is_sent_only_when_asked(upload_page, answers):
    page = upload_page
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    page.locator("input#images").set_input_files(
        [pages.file_payload("drawing.svg", "image/svg+xml", svg)])
    entry = item(page, "drawing.svg")
    expect(entry).to_have_attribute("data-state", "error")
    expect(entry.locator(".upload-message")).to_contain_text("JPEG, PNG, GIF, WebP, HEIC or AVIF")
    assert answers == [], "refused in the page, without sending it"

    entry.locator("button.retry").click()
    expect(entry).to_have_attribute("data-state", "error")
    expect(entry.locator(".upload-message")).to_have_text(
        re.compile(re.escape(server_message(answers, 415))))
    expect(entry.locator("button.retry")).to_have_count(0)


def test_paste_uploads_an_image(upload_page, runtime):
    page = upload_page
    data, _ = pages.png(1)
    pages.paste_files(page, "body", [("image.png", "image/png", data)])
    entry = page.locator("ul#upload-list li.upload-item")
    expect(entry).to_have_count(1)
    expect(entry).to_have_attribute("data-state", "done")
    expect(entry.locator(".upload-name")).to_have_text(re.compile(r"^pasted-.*\.png$"))
    images, _ = runtime.images.list_images(limit=10)
    assert [image["content_type"] for image in images] == ["image/png"]


def test_the_same_file_again_is_shown_as_a_duplicate(upload_page, runtime):
    page = upload_page
    name, mime, data = photos(1, start=7)[0]
    pages.drop_files(page, "#dropzone", [(name, mime, data)])
    expect_stored(page, name)
    pages.drop_files(page, "#dropzone", [("again.jpg", mime, data)])
    again = item(page, "again.jpg")
    expect(again).to_have_attribute("data-state", "duplicate")
    expect(again.locator(".upload-message")).to_contain_text("Already in the gallery")
    expect(page.locator("#upload-summary")).to_contain_text("2 of 2 stored (1 already in the gallery)")
    assert len(runtime.images.list_images(limit=10)[0]) == 1


def test_retry_after_the_storage_failed(upload_page, answers, storage, runtime):
    page = upload_page
    storage.fail(lambda op, key: op == "put" and key.endswith("meta.json"))
    name, mime, data = photos(1, start=9)[0]
    pages.drop_files(page, "#dropzone", [(name, mime, data)])
    entry = item(page, name)
    expect(entry).to_have_attribute("data-state", "error")
    expect(entry.locator(".upload-message")).to_have_text(server_message(answers, 503))
    expect(entry.locator("button.retry")).to_be_visible()  # the storage may be back soon
    assert runtime.images.list_images(limit=10)[0] == []

    storage.heal()
    entry.locator("button.retry").click()
    expect_stored(page, name)
    expect(entry.locator("button.retry")).to_have_count(0)
    assert [i["filename"] for i in runtime.images.list_images(limit=10)[0]] == [name]


def test_folder_picker_uploads_its_images_and_skips_the_rest(upload_page, tmp_path, runtime):
    page = upload_page
    folder = tmp_path / "holiday"
    (folder / "day two").mkdir(parents=True)
    names = []
    for n, sub in ((0, ""), (1, "day two")):
        data, name = pages.photo(n + 20, size=(480, 320))
        (folder / sub / name).write_bytes(data)
        names.append(name)
    (folder / ".DS_Store").write_bytes(b"\0" * 64)
    (folder / "notes.txt").write_text("what we did")
    page.locator("input#folder").set_input_files(folder)
    for name in names:
        expect_stored(page, name)
    expect(page.locator("ul#upload-list li.upload-item")).to_have_count(2)
    expect(page.locator("#upload-summary")).to_contain_text("2 of 2 stored")
    expect(page.locator("#upload-summary")).to_contain_text("2 skipped")
    stored = sorted(i["filename"] for i in runtime.images.list_images(limit=10)[0])
    assert stored == sorted(names)


def test_the_summary_stays_in_view_while_the_list_grows(upload_page):
    page = upload_page
    page.set_viewport_size({"width": 390, "height": 640})  # a phone: the list outgrows it
    pages.drop_files(page, "#dropzone", photos(12, start=30))
    summary = page.locator("#upload-summary")
    expect(summary).to_contain_text("Done: 12 of 12 stored, 0 failed")
    last = page.locator("ul#upload-list li.upload-item").last
    last.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 200, "the list is longer than the screen"
    expect(summary).to_be_in_viewport()
    box = summary.bounding_box()
    assert box is not None and 0 <= box["y"] < 80, box  # held at the top of the screen


def test_a_file_is_processing_between_sent_and_stored(upload_page, storage):
    page = upload_page
    # A slow bucket: the bytes are all sent long before the server has stored the image.
    storage.delay = 1.5
    storage.fail(lambda op, key: op == "put" and key.endswith("meta.json"), times=0)
    name, mime, data = photos(1, start=50)[0]
    pages.drop_files(page, "#dropzone", [(name, mime, data)])
    entry = item(page, name)
    expect(entry).to_have_attribute("data-state", "processing")
    expect(entry.locator(".upload-message")).to_have_text("Processing…")
    expect(entry.locator("progress")).to_have_js_property("value", 100)
    expect(page.locator("#upload-summary")).to_contain_text("0 of 1 stored, 0 failed, 1 waiting")
    expect_stored(page, name)
    expect(entry.locator(".upload-message")).to_have_text("Stored")


def test_files_show_in_the_gallery_in_the_order_picked(upload_page):
    page = upload_page
    # Sizes differ so they are stored out of order: three go at once, the small ones first.
    made = []
    for n, size in enumerate([(1600, 1200), (200, 150), (1200, 900), (240, 160), (300, 200)]):
        data, name = pages.photo(60 + n, size=size)
        made.append((f"{n}-{name}", "image/jpeg", data))
    page.locator("input#images").set_input_files([pages.file_payload(*f) for f in made])
    for name, _, _ in made:
        expect_stored(page, name)
    page.goto("/")
    titles = page.locator("ul.grid > li > a.tile[data-id]")
    expect(titles).to_have_count(5)
    shown = [titles.nth(i).get_attribute("data-title") for i in range(5)]
    assert [t.split("-")[0] for t in shown] == ["0", "1", "2", "3", "4"], shown


def test_title_description_and_tags_go_with_every_file(upload_page, runtime):
    page = upload_page
    page.get_by_label("Title").fill("Harbour walk")
    page.get_by_label("Description").fill("A windy morning.")
    page.get_by_label("Tags").fill("sea, " + "x" * 60)
    name, mime, data = photos(1, start=70)[0]
    page.locator("input#images").set_input_files([pages.file_payload(name, mime, data)])
    entry = item(page, name)
    expect(entry).to_have_attribute("data-state", "error")
    expect(entry.locator(".upload-message")).to_contain_text("at most 50 characters")
    expect(page.locator("#upload-tags-error")).to_be_visible()
    expect(page.get_by_label("Tags")).to_have_attribute("aria-invalid", "true")
    assert runtime.images.list_images(limit=5)[0] == []

    page.get_by_label("Tags").fill("sea, Harbour")
    entry.get_by_role("button", name=f"Send: {name}").click()
    expect_stored(page, name)
    [image] = runtime.images.list_images(limit=5)[0]
    assert (image["title"], image["description"], image["tags"]) == (
        "Harbour walk", "A windy morning.", ["sea", "Harbour"])
