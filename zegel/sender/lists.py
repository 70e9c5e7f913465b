"""The sender's lists: sent and inbox, with each conversation's status, search and paging.

A page costs the same few queries however many rows it shows: the count, the page of
conversations, their recipients with each one's status worked out in the database, and each
conversation's first message with its key (for the subject).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from zegel.messaging import access, content, search
from zegel.messaging.models import (
    Conversation,
    Message,
    Recipient,
    RecipientEvent,
    SubjectWord,
)
from zegel.orgs import roles
from zegel.orgs.access import role_required, staff_user

PAGE_SIZE = 25
MAX_QUERY = 200
MAX_TERMS = 10
# A revoked conversation's title names this many recipients, then "and N more".
TITLE_RECIPIENTS = 3

_DELIVERY = [RecipientEvent.Kind.NOTIFIED, RecipientEvent.Kind.BOUNCED,
             RecipientEvent.Kind.FAILED]


class BadListRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Status:
    """What the list says about a conversation at a glance: `kind` picks the icon's shape (never
    colour alone), `text` says it."""

    kind: str  # opened, partly, unopened, problem, revoked, expired
    text: str


def _recipients_with_status() -> QuerySet[Recipient]:
    """Recipients, each with whether they opened the sender's latest message and how the
    latest notification to them ended: two subqueries in the one recipients query."""
    latest_staff_message = (Message.objects
                            .filter(conversation_id=OuterRef(OuterRef("conversation_id")),
                                    author_user__isnull=False)
                            .order_by("-created_at", "-id").values("pk")[:1])
    opened = RecipientEvent.objects.filter(recipient_id=OuterRef("pk"),
                                           kind=RecipientEvent.Kind.OPENED,
                                           message_id=Subquery(latest_staff_message))
    delivery = (RecipientEvent.objects.filter(recipient_id=OuterRef("pk"), kind__in=_DELIVERY)
                .order_by("-at", "-id").values("kind")[:1])
    return Recipient.objects.annotate(opened_latest=Exists(opened),
                                      last_delivery=Subquery(delivery))


def is_expired(conversation: Conversation) -> bool:
    """Its end date passed before anything else ended it (the recipients' access ends then;
    the content stays for the sender)."""
    if conversation.expires_at is None:
        return False
    if conversation.shredded_reason == Conversation.Shredded.RETENTION:
        return False
    ended = conversation.closed_at or conversation.revoked_at
    if ended is not None:
        return conversation.expires_at <= ended
    return conversation.expires_at <= timezone.now()


def conversation_status(conversation: Conversation, recipients: list[Recipient]) -> Status:
    if conversation.shredded_reason == Conversation.Shredded.RETENTION:
        return Status("revoked", _("Shredded by retention policy"))
    if conversation.revoked_at is not None or is_expired(conversation):
        if is_expired(conversation):
            return Status("expired", _("Expired"))
        return Status("revoked", _("Revoked"))
    if conversation.closed_at is not None:
        return Status("revoked", _("Revoked for recipients"))
    problems = []
    active = [r for r in recipients if r.revoked_at is None]
    for r in active:
        delivery = getattr(r, "last_delivery", None)
        if delivery == RecipientEvent.Kind.BOUNCED:
            problems.append(_("notification to %(email)s bounced") % {"email": r.email})
        elif delivery == RecipientEvent.Kind.FAILED:
            problems.append(_("notification to %(email)s failed") % {"email": r.email})
        if r.locked_at is not None:
            problems.append(_("%(email)s is locked out after wrong codes") % {"email": r.email})
        if r.held_reason:
            problems.append(_("%(email)s is held: add how they verify") % {"email": r.email})
    if problems:
        return Status("problem", _("Problem: %(problems)s") % {"problems": "; ".join(problems)})
    if not active:
        return Status("revoked", _("No recipient has access"))
    opened = sum(1 for r in active if getattr(r, "opened_latest", False))
    if opened == 0:
        return Status("unopened", _("Not opened yet"))
    if opened == len(active):
        return Status("opened", _("Opened") if len(active) == 1
                      else _("Opened by all %(count)s") % {"count": len(active)})
    return Status("partly", _("Opened by %(opened)s of %(count)s")
                  % {"opened": opened, "count": len(active)})


def revoked_title(conversation: Conversation, recipients: list[Recipient]) -> str:
    """A title for a conversation whose subject was destroyed: to whom and when it was sent.
    The subject itself is gone with its key and never shown."""
    names = [r.email for r in recipients[:TITLE_RECIPIENTS]]
    if len(recipients) > TITLE_RECIPIENTS:
        names.append(_("%(count)s more") % {"count": len(recipients) - TITLE_RECIPIENTS})
    values = {"recipients": ", ".join(names),
              "date": date_format(timezone.localtime(conversation.created_at), "DATE_FORMAT")}
    if conversation.shredded_reason == Conversation.Shredded.RETENTION:
        return _("Shredded by retention — to %(recipients)s, %(date)s") % values
    if is_expired(conversation):
        return _("Expired — to %(recipients)s, %(date)s") % values
    return _("Revoked — to %(recipients)s, %(date)s") % values


def _summaries(conversations: QuerySet[Conversation]) -> list[dict[str, Any]]:
    listed = conversations.prefetch_related(
        Prefetch("recipients", queryset=_recipients_with_status()),
        content.prefetch_first_message())
    rows = []
    for conversation in listed:
        recipients = list(conversation.recipients.all())
        gone = conversation.revoked_at is not None
        rows.append({
            "conversation": conversation,
            "title": (revoked_title(conversation, recipients) if gone
                      else content.first_subject(conversation) or _("(no subject)")),
            "revoked": gone,
            "recipients": recipients,
            "status": conversation_status(conversation, recipients),
        })
    return rows


def _search(conversations: QuerySet[Conversation], query: str,
            organisation_id: int) -> QuerySet[Conversation]:
    """Every term must match: a recipient's address or name containing it, or all its words
    among the subject's words (compared as keyed tokens, zegel.messaging.search)."""
    for term in query.split():
        by_recipient = Exists(Recipient.objects.filter(conversation_id=OuterRef("pk")).filter(
            Q(email__icontains=term) | Q(name__icontains=term)))
        match = Q(by_recipient)
        term_tokens = search.tokens(organisation_id, term)
        if term_tokens:
            by_subject = Q()
            for token in term_tokens:
                by_subject &= Q(Exists(SubjectWord.objects.filter(conversation_id=OuterRef("pk"),
                                                                  token=token)))
            match |= by_subject
        conversations = conversations.filter(match)
    return conversations


def _query(request: HttpRequest) -> str:
    query = " ".join(request.GET.get("q", "").split())
    if len(query) > MAX_QUERY:
        raise BadListRequest(_("Search for at most %(count)s characters.") % {"count": MAX_QUERY})
    if len(query.split()) > MAX_TERMS:
        raise BadListRequest(_("Search for at most %(count)s words.") % {"count": MAX_TERMS})
    return query


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1").strip()
    if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise BadListRequest(_("The page number must be a whole number, 1 or more."))
    return int(raw)


def _link(path: str, query: str, page: int) -> str:
    params = {k: v for k, v in (("q", query), ("page", str(page) if page > 1 else "")) if v}
    return f"{path}?{urlencode(params)}" if params else path


def _list_page(request: HttpRequest, conversations: QuerySet[Conversation], *,
               tab: str, title: str, empty: str) -> HttpResponse:
    user = staff_user(request)
    context: dict[str, Any] = {"tab": tab, "title": title, "empty": empty, "rows": [],
                               "query": request.GET.get("q", "")[:MAX_QUERY]}
    try:
        query = _query(request)
        number = _page_number(request)
    except BadListRequest as exc:
        context.update(error=exc.message, first_page=request.path)
        return render(request, "sender/list.html", context, status=exc.status)
    if query:
        conversations = _search(conversations, query, user.organisation_id)
    total = conversations.count()
    pages = max(1, -(-total // PAGE_SIZE))
    context.update(query=query, total=total, page=number, pages=pages)
    if number > pages:
        context.update(error=ngettext("There is no page %(page)s: there is %(pages)s page.",
                                      "There is no page %(page)s: there are %(pages)s pages.",
                                      pages) % {"page": number, "pages": pages},
                       first_page=_link(request.path, query, pages))
        return render(request, "sender/list.html", context, status=404)
    start = (number - 1) * PAGE_SIZE
    page = conversations.order_by("-last_activity_at", "-pk")[start:start + PAGE_SIZE]
    context.update(
        rows=_summaries(page), first=start + 1, last=min(start + PAGE_SIZE, total),
        previous_link=_link(request.path, query, number - 1) if number > 1 else "",
        next_link=_link(request.path, query, number + 1) if number < pages else "",
        clear_link=request.path if query else "",
    )
    return render(request, "sender/list.html", context)


@login_required
@role_required(roles.Permission.SEND)
@never_cache
@require_safe
def sent(request: HttpRequest) -> HttpResponse:
    return _list_page(request, access.visible_conversations(staff_user(request)), tab="sent",
                      title=_("Sent"), empty=_("You have not sent any secure messages yet."))


@login_required
@role_required(roles.Permission.SEND)
@never_cache
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    """Conversations with replies, read ones too; unread ones stand out."""
    replied = Exists(Message.objects.filter(conversation_id=OuterRef("pk"),
                                            author_recipient__isnull=False))
    conversations = access.visible_conversations(staff_user(request)).filter(replied)
    return _list_page(request, conversations, tab="inbox", title=_("Inbox"),
                      empty=_("No replies yet."))
