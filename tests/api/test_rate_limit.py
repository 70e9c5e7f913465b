"""The API's per-token rate limit: 429 with Retry-After, shared by every process, recovering
when the window ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import send
from tests.orgs.race import at_once
from zegel.messaging.models import Attachment
from zegel.orgs import api_rate
from zegel.orgs.models import ApiRequestCount, ApiToken, User

WINDOW = 60
# 15.5 s into a window: 44.5 s are left, which Retry-After rounds up.
T0 = 100_000 * WINDOW + 15.5


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, settings: Any) -> list[float]:
    settings.API_RATE_LIMIT = 3
    settings.API_RATE_WINDOW = WINDOW
    now = [T0]
    monkeypatch.setattr(api_rate, "_clock", lambda: now[0])
    return now


def _api(user: User) -> Client:
    _token, secret = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_it_answers_429_with_retry_after_and_recovers_after_the_window(
        sender: User, clock: list[float]) -> None:
    path = f"/api/v1/messages/{send(sender).pk}"
    api = _api(sender)
    assert [api.get(path).status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get(path)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"
    assert refused["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["status"] == 429 and "45 seconds" in problem["detail"]
    clock[0] = T0 + 44  # still the same window: more requests do not help, nor extend it
    assert api.get(path)["Retry-After"] == "1"
    clock[0] = T0 + 45  # the next window
    assert api.get(path).status_code == 200
    # The past window's count is gone.
    assert list(ApiRequestCount.objects.values_list("window_start", "requests")) == [
        ((100_000 + 1) * WINDOW, 1)]


def test_each_token_has_its_own_count(sender: User, clock: list[float]) -> None:
    path = f"/api/v1/messages/{send(sender).pk}"
    first, second = _api(sender), _api(sender)
    for _ in range(4):
        first.get(path)
    assert first.get(path).status_code == 429
    assert second.get(path).status_code == 200


def test_a_token_over_its_limit_cannot_make_the_server_store_a_file(
        sender: User, clock: list[float], settings: Any) -> None:
    api = _api(sender)
    path = f"/api/v1/messages/{send(sender).pk}"
    for _ in range(3):
        api.get(path)
    response = api.post("/api/v1/attachments", {"file": SimpleUploadedFile("a.txt", b"abc")})
    assert response.status_code == 429
    assert not Attachment.objects.exists()
    assert not any(p.is_file() for p in Path(settings.BLOB_DIR).rglob("*"))


def test_zero_switches_the_limit_off(sender: User, clock: list[float], settings: Any) -> None:
    settings.API_RATE_LIMIT = 0
    path = f"/api/v1/messages/{send(sender).pk}"
    api = _api(sender)
    assert {api.get(path).status_code for _ in range(5)} == {200}
    assert not ApiRequestCount.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_share_one_exact_count(sender: User, clock: list[float],
                                                 settings: Any) -> None:
    # Each thread has its own database connection, as separate web processes do.
    settings.API_RATE_LIMIT = 7
    path = f"/api/v1/messages/{send(sender).pk}"
    _token, secret = ApiToken.issue(sender)

    def request() -> int:
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(path).status_code

    results = at_once(request, times=8)
    assert sorted(results) == [200] * 7 + [429], results
    assert ApiRequestCount.objects.get().requests == 8


def test_the_openapi_document_lists_429_on_every_operation(db: None) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    assert len(operations) >= 18
    for operation in operations:
        answer = operation["responses"]["429"]
        assert "application/problem+json" in answer["content"]
        assert "Retry-After" in answer["headers"]
