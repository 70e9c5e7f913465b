"""The recipients a sender wrote to before, for the compose page's suggestions: read from the
sender's own conversations only (access.visible_conversations), the newest use of each
address, with the method used then. No content, number or code is read."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max, Q
from django.db.models.functions import Lower

from zegel.messaging import access
from zegel.messaging.models import Recipient
from zegel.orgs.models import User

MAX_QUERY = 100


@dataclass(frozen=True)
class UsedBefore:
    email: str  # lower-case
    name: str
    method: str


def recipients_used_before(user: User, query: str, *, limit: int = 10) -> list[UsedBefore]:
    """The addresses this user sent to whose address, name or a word of the name starts with
    `query` (case ignored), the most recently used first; each with its newest use. One
    query."""
    query = query.strip()[:MAX_QUERY]
    if not query or limit <= 0:
        return []
    mine = Recipient.objects.filter(conversation__in=access.visible_conversations(user))
    newest_per_address = (mine.values(address=Lower("email")).annotate(newest=Max("id"))
                          .values("newest"))
    matches = (Q(email__istartswith=query) | Q(name__istartswith=query)
               | Q(name__icontains=f" {query}"))
    rows = (mine.filter(matches, pk__in=newest_per_address).order_by("-id")
            .values_list("email", "name", "method")[:limit])
    return [UsedBefore(email=email.lower(), name=name, method=method)
            for email, name, method in rows]
