"""The simulator's HTTP layer: the protocol page from the register's side, plus /_control/."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kassanet._auth import format_date, parse_date, sign, signature_matches
from kassanet._codec import decode_body, encode_body, error_payload
from kassanet._crypto import encrypt
from kassanet._exceptions import BlowfishDecryptionError, InvalidBase64Error, PayloadError
from kassanet.simulator._catalog import generate_catalog
from kassanet.simulator._register import Register, RegisterError, SimulatorConfig

__all__ = ["SimulatorServer", "make_server"]

logger = logging.getLogger("kassanet.simulator")
CONTROL_PREFIX = "/_control/"

Handler = Callable[[dict[str, str], Any], dict[str, Any]]


def _routes(register: Register) -> dict[str, tuple[str, Handler]]:
    return {
        "test": ("GET", register.test),
        "GetAllProducts": ("GET", lambda params, body: {}),  # served from a byte cache
        "GetProductSelection": ("GET", register.get_product_selection),
        "TableNumbers": ("GET", register.table_numbers),
        "GetFreeTableNumber": ("GET", register.get_free_table_number),
        "GetPaymentTypes": ("GET", register.get_payment_types),
        "SendOrder": ("POST", register.send_order),
        "GetBill": ("GET", register.get_bill),
        "PayBill": ("POST", register.pay_bill),
    }


class SimulatorServer(ThreadingHTTPServer):
    """A threading HTTP server holding one :class:`Register`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], register: Register) -> None:
        self.register = register
        self.routes = _routes(register)
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    server: SimulatorServer
    protocol_version = "HTTP/1.1"
    server_version = "KassanetSimulator/1.0"
    # Answer at once on kept-alive connections: with Nagle's algorithm on, each small response
    # written in pieces waits for the client's delayed ACK (about 40 ms a call).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.client_address[0], *args)

    @property
    def register(self) -> Register:
        return self.server.register

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    # -- plumbing ----------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        try:
            if url.path.startswith(CONTROL_PREFIX):
                self._control(method, url.path[len(CONTROL_PREFIX) :], body)
            elif url.path.startswith(self.register.config.prefix):
                endpoint = url.path[len(self.register.config.prefix) :]
                self._pos(method, endpoint, dict(parse_qsl(url.query)), body)
            else:
                self._send_plain(404, {"error": "not found"})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout is shorter than our latency)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.log_request(status)
        self.send_response_only(status)  # not send_response: it adds an HTTP-date Date header
        self.send_header("Server", self.version_string())
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_plain(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self._send(status, body, {"Content-Type": "application/json"})

    # -- the register ------------------------------------------------------------------------

    def _pos(self, method: str, endpoint: str, params: dict[str, str], body: bytes) -> None:
        register = self.register
        with register.lock:
            register.counters[endpoint] += 1
            faults = register.faults
            offline, latency = faults.offline, faults.latency_ms
        if offline:
            self._drop_connection()
            return
        if latency:
            time.sleep(latency / 1000)
        try:
            self._pos_answer(method, endpoint, params, body)
        except RegisterError as error:
            self._reply(error.status, error_payload(error.code, error.message))

    def _pos_answer(self, method: str, endpoint: str, params: dict[str, str], raw: bytes) -> None:
        register, config = self.register, self.register.config
        injected = register.injected_failure(endpoint)
        if injected is not None:
            status, code, garbage = injected
            if garbage is not None:
                # Sent as is, but signed: a register signs every answer, even a broken one.
                self._send_signed(status, garbage.encode(), {"Content-Type": "text/plain"})
                return
            raise RegisterError(status, code, f"simulated HTTP {status}")
        self._authenticate(raw)
        route = self.server.routes.get(endpoint)
        with register.lock:
            if endpoint in register.deviations.missing_endpoints:
                route = None
        if route is None:
            raise RegisterError(404, "UNKNOWN_ENDPOINT", f"no endpoint named {endpoint!r}")
        if route[0] != method:
            raise RegisterError(405, "METHOD_NOT_ALLOWED", f"{endpoint} expects {route[0]}")
        payload: Any = None
        if method == "POST":
            try:
                payload = decode_body(
                    raw, encrypted=register.encrypts, token=config.encryption_token
                )
            except InvalidBase64Error:
                raise RegisterError(400, "INVALID_BASE64", "Invalid base64 input") from None
            except BlowfishDecryptionError:
                raise RegisterError(400, "DECRYPTION_ERROR", "Blowfish decryption error") from None
            except PayloadError:
                raise RegisterError(400, "INVALID_JSON", "the body is not JSON") from None
        if endpoint == "GetAllProducts":
            self._reply_bytes(200, self._products_json())
            return
        self._reply(200, route[1](params, payload))

    def _authenticate(self, raw: bytes) -> None:
        config = self.register.config
        date, signature = self.headers.get("Date"), self.headers.get("Signature")
        if not date or not signature:
            raise RegisterError(401, "MISSING_SIGNATURE", "Date and Signature headers required")
        try:
            sent = parse_date(date)
        except ValueError:
            raise RegisterError(401, "INVALID_DATE", "the Date header is not ISO 8601") from None
        skew = abs((self.register.now() - sent).total_seconds())
        if skew > config.max_skew_seconds:
            raise RegisterError(
                401, "CLOCK_SKEW", f"the Date header is {skew:.0f} s away from the register clock"
            )
        if not signature_matches(config.signature_key, date, raw, signature):
            raise RegisterError(401, "INVALID_SIGNATURE", "the signature does not verify")

    def _products_json(self) -> bytes:
        register = self.register
        with register.lock:
            if register.products_json_cache is None:
                products = {"products": register.catalog["products"]}
                register.products_json_cache = json.dumps(
                    products, ensure_ascii=False, separators=(",", ":")
                ).encode()
            return register.products_json_cache

    def _reply(self, status: int, payload: Any) -> None:
        config = self.register.config
        body = encode_body(payload, encrypted=False, token=config.encryption_token)
        self._reply_bytes(status, body)

    def _reply_bytes(self, status: int, plain_json: bytes) -> None:
        register = self.register
        config = register.config
        with register.lock:
            encrypted = register.encrypts
        body = plain_json
        if encrypted:
            body = encrypt(plain_json, config.encryption_token).encode("ascii")
        self._send_signed(
            status, body, {"Content-Type": "text/plain" if encrypted else "application/json"}
        )

    def _send_signed(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Send `body` with `Date` and `Signature` (unless a deviation says otherwise)."""
        register = self.register
        config = register.config
        with register.lock:
            deviations = register.deviations
            unsigned, wrong_signature = deviations.unsigned, deviations.wrong_signature
        headers = dict(headers)
        if not unsigned:
            date = format_date(register.now())
            key = config.signature_key + ("-not-the-key" if wrong_signature else "")
            headers["Date"] = date
            headers["Signature"] = sign(key, date, body)
        if request_id := self.headers.get("request-id"):
            headers["request-id"] = request_id
        self._send(status, body, headers)

    def _drop_connection(self) -> None:
        """Go away without a byte of response, like a register that lost power."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- /_control/ --------------------------------------------------------------------------

    def _control(self, method: str, action: str, raw: bytes) -> None:
        if not ipaddress.ip_address(self.client_address[0]).is_loopback:
            self._send_plain(403, {"error": "the control API only answers loopback clients"})
            return
        try:
            data = json.loads(raw) if raw else {}
            result = self._control_action(method, action, data)
        except RegisterError as error:
            self._send_plain(error.status, error_payload(error.code, error.message))
        except (ValueError, TypeError) as exc:
            self._send_plain(400, error_payload("INVALID_REQUEST", str(exc)))
        else:
            self._send_plain(200, result)

    def _control_action(self, method: str, action: str, data: Any) -> Any:
        register = self.register
        match method, action:
            case "GET", "state":
                return register.state()
            case "POST", "faults":
                register.set_faults(data)
                return register.state()["faults"]
            case "POST", "reset":
                register.reset()
                return {"ok": True}
            case "GET", "catalog":
                with register.lock:
                    return register.catalog
            case "PUT", "catalog":
                register.set_catalog(data)
                return {"ok": True}
            case "POST", "regenerate":
                config = register.config
                with register.lock:
                    config.products = int(data.get("products", config.products))
                    config.seed = int(data.get("seed", config.seed))
                    config.tables = int(data.get("tables", config.tables))
                register.set_catalog(generate_catalog(config.products, config.seed, config.tables))
                return {"ok": True}
            case "POST", "deviations":
                register.set_deviations(data)
                return register.state()["deviations"]
            case "POST", "clock-skew":
                with register.lock:
                    register.config.clock_skew_seconds = int(data["seconds"])
                return {"seconds": register.config.clock_skew_seconds}
        raise RegisterError(404, "UNKNOWN_CONTROL", f"no control action {method} {action}")


def make_server(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0) -> SimulatorServer:
    """Build (but do not start) a simulator server; port 0 picks a free port."""
    return SimulatorServer((host, port), Register(config))
