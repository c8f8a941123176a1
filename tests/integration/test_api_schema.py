"""Property-based API tests generated from the OpenAPI document (schemathesis): whatever a
caller sends, the API answers without a server error and every answer matches the schema
it documents (problem documents included). Runs on SQLite and PostgreSQL, with a token of a
municipality that has data, so the look-ups find something as well as nothing."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from shuyaku import accounts
from shuyaku.access.actor import Actor
from shuyaku.context import Context
from shuyaku.web.app import create_app
from tests.builders import MUNI_A, exchange_file, number, skks
from tests.integration.helpers import ingest

EXAMPLES = int(os.environ.get("API_EXAMPLES", "15"))


def test_every_generated_request_is_answered_as_documented(ctx: Context) -> None:
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    admin = Actor("adm", "admin")
    accounts.add_user(ctx, admin, "sys-a", "国保システム", "架空市", "municipal_system", [MUNI_A])
    token = accounts.create_token(ctx, admin, "sys-a")[1]
    app = create_app(ctx)
    app.state.limiter.rate = app.state.limiter.burst = 1e9  # generated requests come fast
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def answered(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error, response_schema_conformance],
            )
            assert number(1) not in response.text

        answered()
