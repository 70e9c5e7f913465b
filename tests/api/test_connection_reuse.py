"""Database connections are kept between requests (ZEGEL_DB_CONN_MAX_AGE) and checked before
reuse (ZEGEL_DB_HEALTH_CHECKS): requests go through Django's real WSGI handler, whose
request_started/request_finished signals decide whether a connection is kept."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def _request(path: str = "/healthz") -> int:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_NAME": "testserver",
               "SERVER_PORT": "80", "HTTP_HOST": "testserver", "wsgi.input": io.BytesIO(),
               "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO()}
    status: list[str] = []
    response = WSGIHandler()(environ, lambda s, h, *a: status.append(s))
    b"".join(response)
    response.close()  # fires request_finished, as a WSGI server does
    return int(status[0].split()[0])


def _backend() -> Any:
    """What names the connection this thread holds: the server process on PostgreSQL, the
    connection object itself on SQLite (held, so a new one cannot take its address)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]
        cursor.execute("SELECT 1")
    return connection.connection


@pytest.fixture
def settings_dict() -> Iterator[dict[str, Any]]:
    saved = dict(connection.settings_dict)
    yield connection.settings_dict
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


def test_requests_reuse_one_connection(settings_dict: dict[str, Any]) -> None:
    assert settings_dict["CONN_MAX_AGE"] == 300
    assert settings_dict["CONN_HEALTH_CHECKS"] is True
    # Opened afresh under these settings: a connection left by an earlier test may carry the
    # closing time of the settings it was opened under.
    connection.close()
    first = _backend()
    assert _request() == 200
    assert _request() == 200
    assert _backend() == first


def test_max_age_zero_connects_per_request(settings_dict: dict[str, Any]) -> None:
    settings_dict["CONN_MAX_AGE"] = 0
    connection.close()
    first = _backend()
    assert _request() == 200
    assert _backend() != first


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_dropped_connection_is_replaced(settings_dict: dict[str, Any]) -> None:
    import psycopg

    first = _backend()
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [first])
    # The next request's first query finds the kept connection dead and opens a new one.
    assert _request() == 200
    assert _backend() != first
