"""Problem answers (RFC 9457) of the REST API, and their place in the OpenAPI document.

Every error the API gives is a problem object served as application/problem+json, in the
client's language (zegel.core.problems: English unless Accept-Language asks for Dutch). Each
operation lists the problems it can answer with, so a client (and the property-based test in
tests/api/test_schema_fuzz.py) can rely on the document: a status that is not listed is a bug.
What the plumbing itself answers is added to every operation it applies to (ProblemApi and
zegel.api.auth.TokenApi): the token check's 401/403/429, and for an operation with a request
body 400 (not JSON), 413, 415 and 422. An operation lists only its own (404, 409, 400).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.parser import Parser
from pydantic import AfterValidator, ConfigDict, Field

from zegel.core.problems import PROBLEM_TYPE

__all__ = ["PROBLEM_TYPE", "Problem", "ProblemApi", "UtcDateTime", "problems"]

PROBLEM_REF = "#/components/schemas/Problem"


def _in_utc(moment: datetime) -> datetime:
    """Every time the API answers is in UTC, whatever TIME_ZONE or the zone it was given in;
    the JSON encoder then writes it with a 'Z' (2027-03-01T16:00:00Z, milliseconds when
    there are any)."""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.astimezone(UTC)


# The type of every time in an API answer.
UtcDateTime = Annotated[datetime, AfterValidator(_in_utc)]


class FieldErrorOut(Schema):
    loc: list[str] = Field(description="Where in the request: 'body', the parameter, then the "
                                       "field names and list positions down to the value.")
    msg: str = Field(description="What is wrong with that value, in the request's language.")


class Problem(Schema):
    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="Always 'about:blank': the status "
                      "code says what kind of problem it is (RFC 9457).")
    title: str = Field(description="The status code's name, in the request's language.")
    status: int = Field(description="The HTTP status code of the answer.")
    detail: str = Field(description="What went wrong and what to do, in the request's "
                                    "language (Accept-Language: English unless it asks for "
                                    "Dutch).")
    field: str | None = Field(default=None, description="The request field that was refused: "
                              "'recipients', 'subject', '<index>.<name>' for one recipient, "
                              "'dlp' for a data-leak refusal.")
    errors: list[FieldErrorOut] | None = Field(
        default=None, description="Per field, for a request that does not match its schema.")
    rules: list[dict[str, Any]] | None = Field(
        default=None, description="The data-leak rules that refused a message.")


# What each problem status means, in every operation's list of responses.
MEANING = {
    400: "Refused input: `field` names it (a recipient as '<index>.<name>'; 'dlp' with the "
         "`rules` for a data-leak refusal), or a body that is not valid JSON.",
    401: "No token, or a wrong, revoked or expired one.",
    403: "The token lacks the scope this operation needs (read for GET, send for the others, "
         "admin for the data-leak settings and the contact sync), the role of its user does "
         "not allow it, or the user's organisation requires two-factor login and the user has "
         "not set it up.",
    404: "No such id among this user's (or organisation's) own (a contact's external id of "
         "another organisation too); an attachment that is not yours, was already sent or was "
         "destroyed.",
    409: "The conversation was revoked, or stored content failed its integrity check "
         "(nothing was shown or sent; the event is audited).",
    413: "Too large: a JSON body over 2 MiB, a file over the size limit, or more than 50 files "
         "in one request.",
    415: "The body's Content-Type is not application/json (multipart/form-data for uploads).",
    422: "The body does not match the schema (`errors` lists each field), or text contains a "
         "NUL character.",
    429: "Too many requests with this token in the current window.",
}
BODY_PROBLEMS = (400, 413, 415, 422)
# Every operation needs a token: a missing, wrong or revoked one is 401.
ALWAYS = (401,)


def problems(*statuses: int) -> dict[int, type[Problem]]:
    """The problem answers of one operation, for its `response=` mapping."""
    return {status: Problem for status in sorted({*ALWAYS, *statuses})}


def problem_answer(status: int) -> dict[str, Any]:
    return {"description": MEANING[status],
            "content": {PROBLEM_TYPE: {"schema": {"$ref": PROBLEM_REF}}}}


class NotJson(Exception):
    """The request body is not JSON (400), or not sent as JSON (415)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json"))


class JsonParser(Parser):
    """A JSON body sent as JSON. A body without a Content-Type is read as JSON too."""

    def parse_body(self, request: HttpRequest) -> Any:
        content_type = request.content_type or ""
        if content_type and not is_json(content_type):
            raise NotJson(415)
        try:
            return json.loads(request.body)
        except ValueError as exc:
            raise NotJson(400) from exc


def not_json_detail(status: int) -> str:
    if status == 415:
        return _("Send the body as JSON, with 'Content-Type: application/json'.")
    return _("The request body is not valid JSON.")


def field_error_text(error: dict[str, Any]) -> str:
    """One schema error (pydantic's), in the request's language."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in ("string_type", "string_unicode"):
        return _("Give text here.")
    if kind == "string_too_long":
        return _("At most %(count)s characters.") % {"count": ctx.get("max_length")}
    if kind == "string_too_short":
        return _("At least %(count)s characters.") % {"count": ctx.get("min_length")}
    if kind == "too_long":
        return _("At most %(count)s items.") % {"count": ctx.get("max_length")}
    if kind == "too_short":
        return _("At least %(count)s items.") % {"count": ctx.get("min_length")}
    if kind in ("literal_error", "enum"):
        word = _("or")
        expected = str(ctx.get("expected", "")).replace(" or ", f" {word} ")
        return _("Give one of %(expected)s.") % {"expected": expected}
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return _("Give a whole number.")
    if kind in ("float_type", "float_parsing", "finite_number"):
        return _("Give a number.")
    if kind in ("bool_type", "bool_parsing"):
        return _("Give true or false.")
    if kind in ("uuid_type", "uuid_parsing", "uuid_version"):
        return _("Give an id (a UUID).")
    if kind.startswith(("datetime_", "date_", "timezone_")):
        return _("Give a date and time in ISO 8601, such as 2027-03-01T17:00:00Z.")
    if kind == "greater_than_equal":
        return _("Give at least %(limit)s.") % {"limit": ctx.get("ge")}
    if kind == "less_than_equal":
        return _("Give at most %(limit)s.") % {"limit": ctx.get("le")}
    if kind in ("list_type", "tuple_type", "set_type"):
        return _("Give a list.")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("Give an object.")
    if kind == "extra_forbidden":
        return _("This field is not known.")
    if kind == "json_invalid":
        return _("The request body is not valid JSON.")
    if kind == "value_error" and ctx.get("error") is not None:
        # Zegel's own validators raise their message translated already.
        return str(ctx["error"])
    return _("This value is not valid (%(kind)s).") % {"kind": kind}


class ProblemApi(NinjaAPI):
    """Documents error answers with the media type they are really served with, what each
    status means, and the problems every operation with a request body can answer."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("parser", JsonParser())
        super().__init__(**kwargs)

    def get_openapi_schema(self, *, path_prefix: str | None = None,
                           path_params: dict[str, Any] | None = None) -> Any:
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, answer in responses.items():
                    content = answer.get("content", {})
                    if int(status) >= 400 and self.renderer.media_type in content:
                        content[PROBLEM_TYPE] = content.pop(self.renderer.media_type)
                    if int(status) in MEANING:
                        answer["description"] = MEANING[int(status)]
                if operation.get("requestBody"):
                    listed = {int(status) for status in responses}
                    for status in BODY_PROBLEMS:
                        if status not in listed:
                            responses[status] = problem_answer(status)
                operation["responses"] = dict(sorted(responses.items(),
                                                     key=lambda item: int(item[0])))
        return document
