"""The upgrade to roles: every former organisation admin becomes an admin, everyone else a
member, and the way back restores the flag."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("orgs", "0006_two_factor")]
AFTER = [("orgs", "0007_roles_accounts_sessions")]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_turns_the_admin_flag_into_the_admin_role() -> None:
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = _migrate(BEFORE).loader.project_state(BEFORE).apps
        org = old.get_model("orgs", "Organisation").objects.create(name="A", domain="a.nl")
        users = old.get_model("orgs", "User").objects
        users.create(email="admin@a.nl", organisation=org, is_admin=True, password="!")
        users.create(email="anna@a.nl", organisation=org, is_admin=False, password="!")
        new = _migrate(AFTER).loader.project_state(AFTER).apps
        roles = dict(new.get_model("orgs", "User").objects.values_list("email", "role"))
        assert roles == {"admin@a.nl": "admin", "anna@a.nl": "member"}
        back = _migrate(BEFORE).loader.project_state(BEFORE).apps
        flags = dict(back.get_model("orgs", "User").objects.values_list("email", "is_admin"))
        assert flags == {"admin@a.nl": True, "anna@a.nl": False}
    finally:
        _migrate(latest)
