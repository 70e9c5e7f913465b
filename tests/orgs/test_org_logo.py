"""The organisation's logo: upload, re-encoding, refusals, the public address, and where it
is shown (portal header, notification)."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from tests.conftest import PASSWORD, deliver_and_get_link, send
from zegel.audit.models import AuditEvent
from zegel.notify.models import CapturedMessage
from zegel.orgs import logo as logos
from zegel.orgs.models import Organisation, OrganisationLogo, User

URL = "/settings/organisation/logo"


@pytest.fixture
def admin(org: Organisation) -> User:
    return User.objects.create_user("beheer@zorggroep-noord.nl", org, PASSWORD, role="admin")


def _client(user: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def _image(fmt: str = "PNG", size: tuple[int, int] = (1200, 300), **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (11, 93, 30)).save(out, format=fmt, **save)
    return out.getvalue()


def _upload(client: Client, data: bytes, name: str = "logo.png",
            content_type: str = "image/png") -> Any:
    return client.post(URL, {"logo": SimpleUploadedFile(name, data, content_type)})


def _bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header declaring a huge image, with a few bytes of compressed pixel data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def test_a_png_is_re_encoded_scaled_served_and_audited(admin: User, org: Organisation) -> None:
    # Trailing bytes after the image (a polyglot's payload) do not survive the re-encoding.
    upload = _image("PNG", (1200, 300)) + b"<script>alert(1)</script>"
    response = _upload(_client(admin), upload)
    assert response.status_code == 302
    logo = OrganisationLogo.objects.get(organisation=org)
    assert (logo.width, logo.height) == (600, 150)
    assert b"<script>" not in bytes(logo.png)
    with Image.open(io.BytesIO(bytes(logo.png))) as stored:
        assert stored.format == "PNG" and stored.size == (600, 150)
    [event] = AuditEvent.objects.filter(action="org.logo_set")
    assert event.data == {"width": 600, "height": 150, "bytes": len(bytes(logo.png))}
    path = Organisation.objects.get(pk=org.pk).logo_path
    served = Client().get(path)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in served["Content-Security-Policy"]
    assert served.content == bytes(logo.png)
    assert Client().get(path.replace(logo.digest, "0" * 16)).status_code == 404


def test_a_jpeg_is_accepted_and_stored_as_png(admin: User, org: Organisation) -> None:
    assert _upload(_client(admin), _image("JPEG", (300, 100)), "logo.jpg",
                   "image/jpeg").status_code == 302
    logo = OrganisationLogo.objects.get(organisation=org)
    assert bytes(logo.png).startswith(b"\x89PNG") and (logo.width, logo.height) == (300, 100)


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(document.domain)</script><rect width="10" height="10"/></svg>')


@pytest.mark.parametrize(("data", "name", "content_type", "message"), [
    (b"%PDF-1.4 this is not an image", "logo.png", "image/png", "not a PNG or JPEG image"),
    (SVG, "logo.svg", "image/svg+xml", "not a PNG or JPEG image"),
    (SVG, "logo.png", "image/png", "not a PNG or JPEG image"),
    (_image("GIF", (10, 10)), "logo.gif", "image/gif", "not a PNG or JPEG image"),
    (_image("PNG")[:60], "logo.png", "image/png", "not a PNG or JPEG image"),
    (_bomb(), "bomb.png", "image/png", "at most 16 million pixels"),
    (_bomb(5000, 5000), "bomb.png", "image/png", "at most 16 million pixels"),
    (b"", "empty.png", "image/png", "Choose a logo file"),
])
def test_what_is_not_a_fitting_image_is_refused(
        admin: User, org: Organisation, data: bytes, name: str, content_type: str,
        message: str) -> None:
    response = _upload(_client(admin), data, name, content_type)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert b'id="logo-error"' in response.content
    assert not OrganisationLogo.objects.exists()
    assert not AuditEvent.objects.filter(action="org.logo_set").exists()


def test_a_bomb_is_refused_before_its_pixels_are_decoded(monkeypatch: Any) -> None:
    def no_decoding(self: Any) -> None:
        raise AssertionError("pixels decoded")
    monkeypatch.setattr(Image.Image, "load", no_decoding)
    for bomb in (_bomb(), _bomb(5000, 5000)):
        with pytest.raises(logos.LogoRefused):
            logos.clean_logo(bomb)


def test_a_50_mb_body_is_refused_without_being_kept(admin: User, org: Organisation) -> None:
    response = _upload(_client(admin), b"\x89PNG\r\n\x1a\n" + b"\x00" * (50 * 1024 * 1024))
    assert response.status_code == 400
    assert "larger than 1 MB" in response.content.decode()
    assert not OrganisationLogo.objects.exists()


def test_a_file_just_over_the_limit_is_refused(admin: User) -> None:
    response = _upload(_client(admin), b"\x00" * (logos.MAX_BYTES + 1))
    assert response.status_code == 400 and b"larger than 1 MB" in response.content


def test_a_member_cannot_upload_and_the_file_is_not_read(sender: User) -> None:
    response = _upload(_client(sender), _image())
    assert response.status_code == 403
    assert not OrganisationLogo.objects.exists()


def test_the_admin_removes_the_logo(admin: User, org: Organisation) -> None:
    client = _client(admin)
    _upload(client, _image())
    assert client.post(URL, {"remove": "1"}).status_code == 302
    assert not OrganisationLogo.objects.exists()
    assert AuditEvent.objects.filter(action="org.logo_removed").count() == 1
    again = client.post(URL, {"remove": "1"})
    assert again.status_code == 400 and b"has no logo" in again.content


def test_the_notification_and_the_portal_show_the_logo(
        admin: User, sender: User, org: Organisation) -> None:
    _upload(_client(admin), _image())
    path = Organisation.objects.get(pk=org.pk).logo_path
    send(User.objects.select_related("organisation").get(pk=sender.pk))
    token = deliver_and_get_link("piet@example.nl")
    mail = CapturedMessage.objects.filter(channel="email", to="piet@example.nl").get()
    assert f'<img src="https://zegel.example.org{path}" alt="Zorggroep Noord"' in mail.html
    portal = Client().get(f"/m/{token}")
    assert f'src="{path}"' in portal.content.decode()
