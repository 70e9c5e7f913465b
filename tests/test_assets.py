"""Every asset is served by Zegel itself: no CDN, no web fonts from elsewhere, no trackers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from django.test import Client

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.messaging.test_attachments import make_attachment
from zegel.orgs.models import User

STATIC = Path(__file__).resolve().parents[1] / "zegel" / "static"


class _Assets(HTMLParser):
    """Every URL a browser would fetch by itself: scripts, styles, images, frames, icons."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "srcset", "poster", "data"):
            if found.get(name):
                self.urls.append(found[name] or "")
        if tag == "link" and found.get("href"):
            self.urls.append(found["href"] or "")
        if found.get("style") and "url(" in (found["style"] or ""):
            self.urls.append(found["style"] or "")


def _assets(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


def _is_own(url: str) -> bool:
    return (url.startswith("/") and not url.startswith("//")) or url.startswith("data:")


def test_the_main_pages_load_nothing_from_elsewhere(sender: User, sender_client: Client) -> None:
    User.objects.filter(pk=sender.pk).update(role="admin")
    attachment = make_attachment(sender, b"x")
    message = send(sender, attachments=[attachment])
    token = deliver_and_get_link()
    guest = Client()
    landing = guest.get(f"/m/{token}").content.decode()
    guest.post(f"/m/{token}/code")
    assert guest.post(f"/m/{token}/verify", {"code": latest_sms_code()}).status_code == 302
    pages = {
        "login": Client().get("/login").content.decode(),
        "portal landing": landing,
        "portal message": guest.get(f"/m/{token}").content.decode(),
        "unknown link": Client().get("/m/" + "A" * 43).content.decode(),
        "inbox": sender_client.get("/inbox").content.decode(),
        "sent": sender_client.get("/sent").content.decode(),
        "compose": sender_client.get("/compose").content.decode(),
        "conversation": sender_client.get(f"/c/{message.conversation_id}").content.decode(),
        "dlp admin": sender_client.get("/admin/dlp/").content.decode(),
        "api docs": Client().get("/api/v1/docs").content.decode(),
    }
    for what, html in pages.items():
        urls = _assets(html)
        assert any("/static/" in u for u in urls), f"{what}: no stylesheet found to check"
        assert [u for u in urls if not _is_own(u)] == [], what


def test_the_static_files_load_nothing_from_elsewhere() -> None:
    files = [p for p in STATIC.rglob("*") if p.suffix in (".css", ".js")]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", text), path
        assert not re.search(r"https?://", text), path
