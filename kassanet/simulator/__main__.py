"""``python -m kassanet.simulator``: run a simulated Kassanet register until interrupted."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from kassanet.simulator._register import Deviations, SimulatorConfig
from kassanet.simulator._server import CONTROL_PREFIX, make_server


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, SimulatorConfig]:
    defaults = SimulatorConfig()
    parser = argparse.ArgumentParser(prog="python -m kassanet.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--prefix", default=defaults.prefix, help="path prefix of the endpoints")
    parser.add_argument("--signature-key", default=defaults.signature_key)
    parser.add_argument("--encryption-token", default=defaults.encryption_token)
    parser.add_argument(
        "--encrypt",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="encrypt bodies (--no-encrypt for plain JSON)",
    )
    parser.add_argument("--products", type=int, default=defaults.products)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--tables", type=int, default=defaults.tables)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument(
        "--failure-rate",
        type=float,
        default=0.0,
        help="share of POS requests answered with a transient 5xx",
    )
    parser.add_argument(
        "--offline", action="store_true", help="drop POS connections without answering"
    )
    parser.add_argument("--clock-skew", type=int, default=0, help="register clock offset (s)")
    wrong = parser.add_argument_group(
        "deviations", "make it a wrong register, to see the conformance kit catch it"
    )
    wrong.add_argument(
        "--modifiers-per-line",
        action="store_true",
        help="price a modifier once per line instead of once per unit (the old bug)",
    )
    wrong.add_argument("--no-webshop", action="store_true", help="no payment type named Webshop")
    wrong.add_argument(
        "--wrong-signature", action="store_true", help="sign answers with another key"
    )
    wrong.add_argument(
        "--unsigned", action="store_true", help="answer without Date and Signature headers"
    )
    wrong.add_argument(
        "--missing-endpoint",
        action="append",
        default=[],
        metavar="NAME",
        help="answer this endpoint 404 UNKNOWN_ENDPOINT (repeatable)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    prefix = "/" + args.prefix.strip("/") + "/" if args.prefix.strip("/") else "/"
    config = SimulatorConfig(
        signature_key=args.signature_key,
        encryption_token=args.encryption_token,
        encrypt=args.encrypt,
        products=args.products,
        seed=args.seed,
        tables=args.tables,
        prefix=prefix,
        latency_ms=args.latency_ms,
        failure_rate=args.failure_rate,
        offline=args.offline,
        clock_skew_seconds=args.clock_skew,
        deviations=Deviations(
            modifiers_per_line=args.modifiers_per_line,
            no_webshop=args.no_webshop,
            wrong_signature=args.wrong_signature,
            unsigned=args.unsigned,
            missing_endpoints=list(args.missing_endpoint),
        ),
    )
    return args, config


def main(argv: list[str] | None = None) -> int:
    args, config = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    server = make_server(config, args.host, args.port)
    host, port = str(server.server_address[0]), server.server_address[1]
    base = f"http://{host}:{port}"

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"Kassanet simulator listening on {base}{config.prefix}", flush=True)
    print(f"Control API on {base}{CONTROL_PREFIX}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
