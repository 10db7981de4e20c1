"""The Kassanet conformance kit: certify a register before a location goes live.

Run ``python -m kassanet.conformance --help`` (or ``manage.py kassanet_check`` for a stored
integration). It talks to the register through the same :class:`~kassanet.KassanetClient` as
production and prints a checklist of eight checks (docs/kassanet.md, "Conformance kit")::

    from kassanet.conformance import Target, run_checks, exit_code

    results = run_checks(Target(url, signature_key, token, enable_encryption=True))
    exit_code(results)  # 0 nothing failed, 1 a check failed
"""

from kassanet.conformance._checks import (
    CHECKS,
    CheckResult,
    Status,
    Target,
    TestOrder,
    exit_code,
    parse_order,
    real_bill_warning,
    run_checks,
)
from kassanet.conformance._report import header, render_json, render_text, summary

__all__ = [
    "CHECKS",
    "EXIT_BAD_ARGUMENTS",
    "EXIT_FAILED",
    "EXIT_OK",
    "CheckResult",
    "Status",
    "Target",
    "TestOrder",
    "exit_code",
    "header",
    "parse_order",
    "real_bill_warning",
    "render_json",
    "render_text",
    "run_checks",
    "summary",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_ARGUMENTS = 2
