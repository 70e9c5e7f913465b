"""The audit log holds every event docs/security.md lists, and never a code."""

from __future__ import annotations

import json
import re
from typing import Any

from django.test import Client

from tests.conftest import latest_sms_code, send, smtp_link, smtp_texts
from tests.messaging.test_attachments import make_attachment
from tests.notify.test_sms_webhook import gateway  # noqa: F401 - a fixture
from zegel.audit.log import verify_chain
from zegel.audit.models import AuditEvent
from zegel.config import SmsConfig
from zegel.keystore.rotation import rotate_keys
from zegel.messaging import actions
from zegel.messaging.models import Recipient
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import User

CODE = re.compile(r"\b(\d{6})\b")


def test_the_story_of_a_message_is_in_the_audit_log_without_codes(
        smtp_server: Any, sender: User, sender_client: Client, settings: Any,
        gateway: tuple[str, Any]) -> None:  # noqa: F811
    async def refuse_one(server: Any, session: Any, envelope: Any, address: str,
                         options: Any) -> str:
        if address == "weg@example.nl":
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp_server.handle_RCPT = refuse_one
    attachment = make_attachment(sender, b"dossier bytes", name="dossier.txt")
    message = send(sender, attachments=[attachment], recipients=[
        actions.RecipientSpec(email="piet@example.nl", method="sms", phone="0612345678"),
        actions.RecipientSpec(email="mail@example.nl", method="email"),
        actions.RecipientSpec(email="jan@example.nl", method="sms", phone="0611111111"),
        actions.RecipientSpec(email="sms@example.nl", method="sms", phone="0687654321"),
        actions.RecipientSpec(email="weg@example.nl", method="email"),
    ])
    deliver_due()  # five notifications: four sent, one refused for good (email.failed)
    codes: set[str] = set()

    # Piet asks for an SMS code, types a wrong one, then the right one, reads, downloads, replies.
    piet, token = Client(), smtp_link(smtp_server, "piet@example.nl")
    piet.post(f"/m/{token}/code")
    code = latest_sms_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    codes |= {code, wrong}
    assert piet.post(f"/m/{token}/verify", {"code": wrong}).status_code == 400
    assert piet.post(f"/m/{token}/verify", {"code": code}).status_code == 302
    assert piet.get(f"/m/{token}").status_code == 200
    download = piet.get(f"/m/{token}/a/{attachment.pk}")
    assert download.status_code == 200
    b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert piet.post(f"/m/{token}/reply", {"body": "Dank u."}).status_code == 302

    # An e-mail code, sent over SMTP like everything else.
    mail, mail_token = Client(), smtp_link(smtp_server, "mail@example.nl")
    mail.post(f"/m/{mail_token}/code")
    deliver_due()
    codes |= set(CODE.findall(smtp_texts(smtp_server, "mail@example.nl")[-1]))

    # Jan guesses codes until he is locked out (the waits between guesses are tested in
    # tests/portal/test_throttle.py; here they would only slow the story down).
    settings.GUEST_THROTTLE_AFTER = 1000
    jan, jan_token = Client(), smtp_link(smtp_server, "jan@example.nl")
    for guess in range(settings.RECIPIENT_MAX_FAILURES):
        if guess % settings.CODE_MAX_FAILURES == 0:
            jan.post(f"/m/{jan_token}/code")
            codes.add(latest_sms_code("+31611111111"))
        typed = f"{guess:06d}"
        codes.add(typed)
        jan.post(f"/m/{jan_token}/verify", {"code": typed})
    assert Recipient.objects.get(email="jan@example.nl").locked_at is not None

    # An SMS the gateway refuses for good.
    url, handler = gateway
    handler.status = 400
    settings.SMS = SmsConfig(backend="webhook", url=url)
    Client().post(f"/m/{smtp_link(smtp_server, 'sms@example.nl')}/code")
    deliver_due()
    codes |= set(CODE.findall(json.dumps([r["body"] for r in handler.received])))

    # The sender revokes one recipient; the operator rotates the keys.
    piet_recipient = Recipient.objects.get(email="piet@example.nl")
    assert sender_client.post(f"/c/{message.conversation_id}/recipients/{piet_recipient.pk}"
                              "/revoke").status_code == 302
    rotate_keys()
    deliver_due()

    actions_seen = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "message.sent", "code.sms.requested", "code.email.requested", "verify.succeeded",
        "verify.failed", "message.viewed", "attachment.downloaded", "message.replied",
        "recipient.locked", "recipient.revoked", "keys.rotated", "email.sent", "email.failed",
        "sms.sent", "sms.failed",
    } <= actions_seen, actions_seen
    assert len(codes) >= 4 and all(len(c) == 6 for c in codes)
    for event in AuditEvent.objects.all():
        where = json.dumps([event.data, event.actor_id, event.actor_label, event.object_id])
        assert not codes & set(CODE.findall(where)), (event.action, where)
    verify_chain()
