"""Problem answers (RFC 9457) of the REST API, and their place in the OpenAPI document.

Every error the API gives is a problem object served as application/problem+json. Each
operation lists the problems it can answer with, so a client (and the property-based test in
tests/api/test_schema_fuzz.py) can rely on the document: a status that is not listed is a bug.
"""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI, Schema
from pydantic import ConfigDict, Field

PROBLEM_TYPE = "application/problem+json"


class FieldErrorOut(Schema):
    loc: list[str]
    msg: str


class Problem(Schema):
    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str = Field(description="What went wrong, in the request's language where it can.")
    field: str | None = Field(default=None, description="The request field that was refused.")
    errors: list[FieldErrorOut] | None = Field(
        default=None, description="Per field, for a request that does not match its schema.")
    rules: list[dict[str, Any]] | None = Field(
        default=None, description="The data-leak rules that refused a message.")


# Every operation needs a token: a missing, wrong or revoked one is 401.
ALWAYS = (401,)


def problems(*statuses: int) -> dict[int, type[Problem]]:
    """The problem answers of one operation, for its `response=` mapping."""
    return {status: Problem for status in sorted({*ALWAYS, *statuses})}


class ProblemApi(NinjaAPI):
    """Documents error answers with the media type they are really served with."""

    def get_openapi_schema(self, *, path_prefix: str | None = None,
                           path_params: dict[str, Any] | None = None) -> Any:
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                for status, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if int(status) >= 400 and self.renderer.media_type in content:
                        content[PROBLEM_TYPE] = content.pop(self.renderer.media_type)
        return document
