"""Downloads are always downloads: never rendered from Zegel's origin, whatever the file is."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.test import Client

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.messaging.test_attachments import make_attachment
from zegel.orgs.models import User

PAGE = b"<html><script>alert(document.cookie)</script></html>"


def _assert_a_download(response: StreamingHttpResponse) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="x.html"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert b"".join(response.streaming_content) == PAGE


def test_an_html_file_is_a_sandboxed_download_in_the_portal(sender: User) -> None:
    attachment = make_attachment(sender, PAGE, name="x.html")
    send(sender, attachments=[attachment])
    token = deliver_and_get_link()
    guest = Client()
    guest.post(f"/m/{token}/code")
    assert guest.post(f"/m/{token}/verify", {"code": latest_sms_code()}).status_code == 302
    _assert_a_download(guest.get(f"/m/{token}/a/{attachment.pk}"))


def test_an_html_file_is_a_sandboxed_download_for_the_sender(sender: User,
                                                            sender_client: Client) -> None:
    attachment = make_attachment(sender, PAGE, name="x.html")
    message = send(sender, attachments=[attachment])
    _assert_a_download(sender_client.get(f"/c/{message.conversation_id}/a/{attachment.pk}"))
