"""Fuzz the backoffice API from its own OpenAPI schema (schemathesis), in process.

Runs every operation against the WSGI app with generated (valid and invalid) input, as a
user of a vendor that owns one location, and fails on any 500 or response that does not
match the schema. Needs MongoDB and Redis (the test profile of scripts/services.py).

    .venv/bin/python scripts/fuzz_api.py [--examples N]

`make fuzz-api` runs it; tests/integrations/test_fuzz_api.py runs it as a `slow` test.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def fuzz(max_examples: int = 25, seed: int | None = 1) -> list[str]:
    """Run the fuzz; returns the failures (empty when the API held up)."""
    import schemathesis
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.test import override_settings
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st
    from schemathesis.exceptions import CheckFailed
    from schemathesis.specs.openapi.checks import ignored_auth

    from accounts.services import ensure_vendor_user
    from locations.repository import LocationRepository

    app = get_wsgi_application()
    user = ensure_vendor_user(f"fuzz-{uuid.uuid4().hex[:8]}")
    location = LocationRepository().create(
        vendor_id=str(user.vendor.pk), name="Fuzz", timezone="Europe/Brussels", currency="EUR"
    )
    schema = schemathesis.from_wsgi("/api/schema/", app)
    failures: list[str] = []
    cases = 0
    # One token sends every case as fast as it can: turn the API throttles off (429s) meanwhile.
    unthrottled = override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
    )
    unthrottled.enable()

    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err raises here, as it should

        @given(case=operation.as_strategy(), real_id=st.booleans())
        @hsettings(
            max_examples=max_examples,
            deadline=None,
            derandomize=seed is not None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case: Any, real_id: bool) -> None:
            nonlocal cases
            cases += 1
            # Half of the cases use the real location, so that the deeper paths are reached.
            if real_id and case.path_parameters and "location_id" in case.path_parameters:
                case.path_parameters["location_id"] = location.id
            case.headers = {**(case.headers or {}), "Authorization": f"Token {user.token}"}
            response = case.call_wsgi()
            try:
                # ignored_auth would strip the declared auth but not our token header.
                case.validate_response(response, excluded_checks=(ignored_auth,))
            except CheckFailed as error:
                failures.append(f"{case.operation.verbose_name}: {error}")

        check()
    unthrottled.disable()
    print(f"fuzz-api: {cases} cases over {len(list(schema.get_all_operations()))} operations")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50, help="cases per operation")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "upvendo.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from upvendo.mongo import ensure_indexes, get_client

    settings.MONGODB_DB = f"fuzz_{uuid.uuid4().hex[:8]}"
    call_command("migrate", "--noinput", verbosity=0)
    ensure_indexes()
    try:
        failures = fuzz(args.examples)
    finally:
        get_client().drop_database(settings.MONGODB_DB)
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"fuzz-api: {'FAILED' if failures else 'ok'} ({len(failures)} failure(s))")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
