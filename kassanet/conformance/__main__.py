"""``python -m kassanet.conformance``: check a Kassanet register, one line per check.

Exit codes: 0 nothing failed (warnings allowed), 1 a check failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys

from kassanet.conformance import (
    EXIT_BAD_ARGUMENTS,
    Target,
    TestOrder,
    exit_code,
    header,
    parse_order,
    real_bill_warning,
    render_json,
    render_text,
    run_checks,
    summary,
)

KEY_ENV = "KASSANET_SIGNATURE_KEY"
TOKEN_ENV = "KASSANET_ENCRYPTION_TOKEN"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kassanet.conformance",
        description="Check that a Kassanet register (Hendrickx, Vanhoutte) works with the "
        "platform: reachability and TLS, clock skew, response signatures, encryption, the "
        "read endpoints, the Webshop payment type, tables and, with --order --yes, a real "
        "test order. Exit codes: 0 nothing failed (warnings allowed), 1 a check failed, "
        "2 bad arguments.",
    )
    parser.add_argument("--base-url", required=True, help="the register's API address")
    parser.add_argument(
        "--signature-key",
        default=os.environ.get(KEY_ENV),
        help=f"the register's signature key (default: ${KEY_ENV}; it is never printed)",
    )
    parser.add_argument(
        "--encryption-token",
        default=os.environ.get(TOKEN_ENV),
        help=f"the register's encryption token (default: ${TOKEN_ENV}; never printed)",
    )
    parser.add_argument(
        "--encrypt",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the integration's encryption flag (default on)",
    )
    parser.add_argument(
        "--order",
        metavar="PRODUCT_ID[:MODIFIER_ID...]",
        help="also place a real test order: 2 x this product with these modifiers, on a free "
        "table, paid with Webshop (needs --yes)",
    )
    parser.add_argument(
        "--yes", action="store_true", help="confirm that --order writes a real bill"
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per check, one per line"
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds per request (default 10)"
    )
    return parser


def parse_arguments(
    parser: argparse.ArgumentParser, argv: list[str] | None
) -> tuple[argparse.Namespace, Target, TestOrder | None]:
    """Arguments, or ``parser.error`` (exit 2) with what to fix."""
    args = parser.parse_args(argv)
    if args.signature_key is None:
        parser.error(f"--signature-key (or ${KEY_ENV}) is required")
    if args.encryption_token is None:
        if args.encrypt:
            parser.error(f"--encryption-token (or ${TOKEN_ENV}) is required with --encrypt")
        args.encryption_token = ""
    try:
        target = Target(
            args.base_url,
            args.signature_key,
            args.encryption_token,
            args.encrypt,
            timeout=args.timeout,
        )
        order = None if args.order is None else parse_order(args.order)
    except ValueError as error:
        parser.error(str(error))
    if order is not None and not args.yes:
        parser.error(
            real_bill_warning(order) + " Nothing was sent. Add --yes to confirm, or leave "
            "--order out to run the other checks only."
        )
    return args, target, order


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args, target, order = parse_arguments(parser, argv)
    except SystemExit as stop:
        return int(stop.code) if isinstance(stop.code, int) else EXIT_BAD_ARGUMENTS
    if not args.json:
        print(header(target, order), flush=True)
    if order is not None:  # said plainly, on stderr with --json (stdout stays JSON)
        print(real_bill_warning(order), file=sys.stderr if args.json else sys.stdout, flush=True)
    results = run_checks(target, order, confirmed=order is not None)
    lines = render_json(results) if args.json else [*render_text(results), summary(results)]
    print("\n".join(lines), flush=True)
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main())
