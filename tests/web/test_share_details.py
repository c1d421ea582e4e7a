"""A share link's ``show_details``: camera details and the date taken under the link."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.web.test_share import album, link_to, photos  # noqa: F401  (fixtures)
from tests.web.test_tags_search import set_taken


@pytest.fixture
def detailed_photo(runtime, photos):  # noqa: F811
    shown = photos[0]
    set_taken(runtime, shown["id"], "2019-08-01T20:15:00+02:00",
              {"make": "Canon", "model": "Canon EOS R5", "lens": "RF 24-70mm", "iso": 400})
    return shown


@pytest.mark.parametrize("settings", [{"show_details": True}, {}], ids=["gallery-shows", "hidden"])
def test_the_link_alone_decides_what_its_pages_show(runtime, anonymous, admin, album,  # noqa: F811
                                                    detailed_photo):
    plain = link_to(runtime, album)
    detailed = link_to(runtime, album, show_details=True)
    image_id = detailed_photo["id"]
    for client in (anonymous, admin):  # signed in as the owner changes nothing under a link
        page = unescape(client.get(f"/s/{detailed.token}/images/{image_id}").text)
        assert "<dt>Taken</dt>" in page
        assert '<time datetime="2019-08-01T20:15:00+02:00">2019-08-01 20:15 +02:00</time>' in page
        assert "Canon EOS R5 · RF 24-70mm · ISO 400" in page
        hidden = unescape(client.get(f"/s/{plain.token}/images/{image_id}").text)
        for text in ("Taken", "2019-08-01", "Canon", "RF 24-70mm", "Uploaded"):
            assert text not in hidden, text


def test_the_album_page_under_the_link_shows_dates_only_with_details(runtime, anonymous,
                                                                     album, detailed_photo):  # noqa: F811
    plain = link_to(runtime, album)
    detailed = link_to(runtime, album, show_details=True)
    shown = unescape(anonymous.get(f"/s/{detailed.token}").text)
    assert "Taken <time" in shown  # the album's span of dates
    assert f'data-date="{detailed_photo["created_at"][:16].replace("T", " ")} UTC"' in shown
    assert "<div><dt>Uploaded</dt>" in shown  # the lightbox's row is shown
    hidden = unescape(anonymous.get(f"/s/{plain.token}").text)
    # (the lightbox's empty, hidden "Taken" row is filled only from a tile's data-taken)
    assert "Taken <time" not in hidden
    assert not re.search(r'data-(taken|taken-text|camera)="[^"]', hidden)
    assert "2019-08-01" not in hidden and "Canon" not in hidden
    assert 'data-date=""' in hidden and 'data-created=""' in hidden
    assert "<div hidden><dt>Uploaded</dt>" in hidden
