"""Checks that a draft must pass before it is sent (the data-leak rules).

Sending lives here and the rules live in zegel.dlp, which reads messages through
zegel.messaging.content; so the rules register themselves (DlpConfig.ready) instead of being
imported, and imports keep flowing one way. No guard registered means no sending: a
misconfigured installation fails closed, it does not skip the rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from zegel.messaging.models import Attachment, Conversation
from zegel.orgs.models import User


class DraftRecipient(Protocol):
    """What a guard needs of a recipient: RecipientSpec, CleanRecipient and the model fit."""

    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def method(self) -> str: ...


@dataclass(frozen=True)
class Draft:
    sender: User
    subject: str
    body: str
    recipients: Sequence[DraftRecipient]
    attachments: Sequence[Attachment]
    via: str
    confirmed: bool  # the sender confirmed a warning
    request: HttpRequest | None


class SendGuard(Protocol):
    def before_send(self, draft: Draft) -> Any:
        """Raise ActionError to refuse the draft; otherwise return a verdict for after_send.
        Runs before the sending transaction: it may take long (scanning attachments)."""

    def after_send(self, draft: Draft, verdict: Any, conversation: Conversation) -> None:
        """Inside the sending transaction: record what was decided."""


_guards: list[SendGuard] = []


def register(guard: SendGuard) -> None:
    if guard not in _guards:
        _guards.append(guard)


def before_send(draft: Draft) -> list[Any]:
    if not _guards:
        raise ImproperlyConfigured("no send guard is registered: is zegel.dlp installed?")
    return [guard.before_send(draft) for guard in _guards]


def after_send(draft: Draft, verdicts: list[Any], conversation: Conversation) -> None:
    for guard, verdict in zip(_guards, verdicts, strict=True):
        guard.after_send(draft, verdict, conversation)


def required_methods(verdicts: list[Any]) -> set[str]:
    """The verification methods the guards required of every recipient of a send, for
    Conversation.required_methods: empty when none was required. A guard says so with an
    optional ``required_methods(verdict)``; several requirements must all hold."""
    wanted: set[str] | None = None
    for guard, verdict in zip(_guards, verdicts, strict=True):
        ask = getattr(guard, "required_methods", None)
        found = set(ask(verdict)) if ask is not None else set()
        if found:
            wanted = found if wanted is None else wanted & found
    return wanted or set()


def joined_methods(existing: str, required: set[str]) -> str:
    """Conversation.required_methods after one more send: each send's requirement must hold
    for a method chosen later, so the sets intersect (an empty one requires nothing). Two
    that share no method (answers to different recipients) keep the newer one, never none."""
    before = set(existing.split(",")) - {""}
    after = (before & required) if before and required else (before or required)
    return ",".join(sorted(after or required))
