"""Property test over the API's own OpenAPI document (schemathesis): whatever the generated
request, no 500 and every answer matches the schema the document gives for it.

The hub is the demo company (hub.demo.load_demo) and the caller an admin with a read and write
token, so every endpoint is reachable and the writes (claims, moves, replies, posts) happen for
real. One app and one load for the whole module keep the run under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from hub.api.openapi import document


@pytest.fixture(scope="module")
def demo_api(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """(app, admin token) on a database holding the demo company."""
    from hub import create_app
    from hub.api.tokens import NewToken, create_token
    from hub.db import job_session
    from hub.demo import load_demo
    from hub.models import Staff
    from tests.conftest import _empty_tables

    tmp = tmp_path_factory.mktemp("api-demo")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SANDBOX_URL": f"sqlite:///{tmp / 'sandbox.db'}",
            "SECRET_KEY": "test-secret",
            "ENCRYPTION_KEY": "UPAOHjJek0vHHZhQ_uMolDu_2sP75d8Om3cbsZsjy-Q=",
        }
    )
    app.instance_path = str(tmp)
    _empty_tables(app.extensions["hub.engine"])
    with job_session(app) as s:
        load_demo(s, app, tmp / "passwords.txt")
    _ingest_demo(app)
    with job_session(app) as s:
        admin = s.query(Staff).filter_by(role="admin").one()
        _row, token = create_token(s, admin, NewToken("schemathesis", "write"))
    yield app, token
    app.extensions["hub.engine"].dispose()


def _ingest_demo(app: Any) -> None:
    """Poll the sandbox once, so the demo customers' mentions are in the queue."""
    from sqlalchemy import select

    from hub.db import job_session
    from hub.models import PlatformAccount
    from hub.platforms.polling import poll_account

    with job_session(app) as s:
        ids = list(s.scalars(select(PlatformAccount.id)))
    for account_id in ids:
        poll_account(app, account_id)


#: the document the app serves (tests/api/test_openapi.py checks they are the same); loaded
#: from the dict rather than through a fixture, whose lazy loading does not work with pytest 9
schema = schemathesis.openapi.from_dict(document())


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi_document(case: Any, demo_api: Any) -> None:
    app, token = demo_api
    case.call_and_validate(
        app=app,
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
