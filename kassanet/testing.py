"""Helpers for tests that need a Kassanet register.

In-process (the simulator runs in a background thread of the test process)::

    from kassanet.testing import start_simulator

    with start_simulator(products=100, encrypt=True) as sim:
        client = sim.client()                  # a KassanetClient wired to the simulator
        client.test()
        sim.set_faults(failure_rate=0.3)       # or offline=True, latency_ms=..., ...
        sim.set_deviations(no_webshop=True)    # a wrong register (conformance kit tests)
        assert sim.state()["counters"]["test"] == 1
        assert len(sim.payments()) == 0

``sim.base_url`` (with the prefix and a trailing slash), ``sim.signature_key`` and
``sim.encryption_token`` are what an integration's credentials should hold.

A simulator in another process (``python -m kassanet.simulator --port 8765``) is driven the
same way through :class:`SimulatorControl`::

    control = SimulatorControl("http://127.0.0.1:8765/_control/")
    control.reset()
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Self

import httpx

from kassanet._auth import Clock, format_date, sign, utc_now
from kassanet._client import KassanetClient
from kassanet._retry import RetryPolicy, no_jitter
from kassanet.simulator._register import Register, SimulatorConfig
from kassanet.simulator._server import CONTROL_PREFIX, SimulatorServer, make_server

__all__ = ["SigningTransport", "SimulatorControl", "SimulatorHandle", "start_simulator"]


class SigningTransport(httpx.BaseTransport):
    """Sign the answers of another transport as a register would (``Date`` + ``Signature``).

    For unit tests whose doubles (respx, ``httpx.MockTransport``) answer unsigned: the client
    refuses unsigned 2xx answers. Answers that already carry a ``Signature`` pass unchanged.
    """

    def __init__(
        self,
        signature_key: str,
        inner: httpx.BaseTransport | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._key = signature_key
        self._inner = inner or httpx.HTTPTransport()
        self._clock = clock or utc_now

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if "Signature" in response.headers:
            return response
        body = response.read()
        date = format_date(self._clock())
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("date", "content-encoding")
        ]
        headers += [("Date", date), ("Signature", sign(self._key, date, body))]
        return httpx.Response(response.status_code, headers=headers, content=body)

    def close(self) -> None:
        self._inner.close()


class SimulatorControl:
    """A small client of a simulator's loopback-only ``/_control/`` API."""

    def __init__(self, control_url: str, *, timeout: float = 10.0) -> None:
        self.control_url = control_url.rstrip("/") + "/"
        self._timeout = timeout

    def _request(self, method: str, action: str, payload: Any = None) -> Any:
        response = httpx.request(
            method, self.control_url + action, json=payload, timeout=self._timeout
        )
        response.raise_for_status()
        return response.json()

    def state(self) -> dict[str, Any]:
        """``config``, ``faults``, ``counters`` (requests per endpoint), ``payments``, ``bills``."""
        result: dict[str, Any] = self._request("GET", "state")
        return result

    def counters(self) -> dict[str, int]:
        """Requests seen per endpoint (every request, even those rejected or dropped)."""
        return dict(self.state()["counters"])

    def payments(self) -> list[dict[str, Any]]:
        """Every payment actually taken: reference, bill_id, table_number, amount, time."""
        return list(self.state()["payments"])

    def bills(self) -> list[dict[str, Any]]:
        return list(self.state()["bills"])

    def set_faults(
        self,
        *,
        latency_ms: int | None = None,
        failure_rate: float | None = None,
        offline: bool | None = None,
        endpoint_status: dict[str, Any] | list[dict[str, Any]] | None = None,
    ) -> None:
        """Change faults; arguments left as ``None`` keep their current value.

        ``endpoint_status``: ``{"endpoint": "GetAllProducts", "status": 500, "count": 3,
        "code": "...", "body": "raw garbage"}`` (``count`` None = until reset).
        """
        values = {
            "latency_ms": latency_ms,
            "failure_rate": failure_rate,
            "offline": offline,
            "endpoint_status": endpoint_status,
        }
        self._request("POST", "faults", {k: v for k, v in values.items() if v is not None})

    def reset(self) -> None:
        """Faults and deviations off, clock skew 0, bills, payments and counters cleared
        (catalog kept)."""
        self._request("POST", "reset", {})

    def catalog(self) -> dict[str, Any]:
        """The whole catalog: ``products``, ``selections``, ``tables``, ``payment_types``."""
        result: dict[str, Any] = self._request("GET", "catalog")
        return result

    def set_catalog(self, catalog: dict[str, Any]) -> None:
        """Replace the whole catalog (edit the result of :meth:`catalog`)."""
        self._request("PUT", "catalog", catalog)

    def regenerate(self, *, products: int, seed: int = 1, tables: int = 50) -> None:
        """Replace the catalog with a freshly generated one."""
        self._request("POST", "regenerate", {"products": products, "seed": seed, "tables": tables})

    def set_deviations(
        self,
        *,
        modifiers_per_line: bool | None = None,
        no_webshop: bool | None = None,
        encryption: bool | None = None,
        wrong_signature: bool | None = None,
        unsigned: bool | None = None,
        missing_endpoints: list[str] | None = None,
    ) -> None:
        """Make the simulator a wrong register; arguments left as ``None`` keep their value.

        ``modifiers_per_line``: price a modifier once per line (the old bug); ``no_webshop``:
        no payment type named Webshop; ``encryption``: the register's own encryption flag,
        overriding the configured one that :meth:`SimulatorHandle.client` keeps using;
        ``wrong_signature``: sign answers with another key; ``unsigned``: no ``Date`` and
        ``Signature`` on answers; ``missing_endpoints``: answered 404 ``UNKNOWN_ENDPOINT``.
        :meth:`reset` turns them all off (clock skew: :meth:`set_clock_skew`).
        """
        values = {
            "modifiers_per_line": modifiers_per_line,
            "no_webshop": no_webshop,
            "encryption": encryption,
            "wrong_signature": wrong_signature,
            "unsigned": unsigned,
            "missing_endpoints": missing_endpoints,
        }
        self._request("POST", "deviations", {k: v for k, v in values.items() if v is not None})

    def deviations(self) -> dict[str, Any]:
        """The deviations now in force."""
        return dict(self.state()["deviations"])

    def set_clock_skew(self, seconds: int) -> None:
        """Offset the register's clock (its Date headers and its ±300 s check)."""
        self._request("POST", "clock-skew", {"seconds": seconds})


class SimulatorHandle(SimulatorControl):
    """A simulator running in a background thread of this process; stop it when done."""

    def __init__(self, server: SimulatorServer, thread: threading.Thread) -> None:
        host, port = str(server.server_address[0]), server.server_address[1]
        root = f"http://{host}:{port}"
        super().__init__(root + CONTROL_PREFIX)
        self._server = server
        self._thread = thread
        self.config: SimulatorConfig = server.register.config
        self.base_url = root + self.config.prefix
        self.signature_key = self.config.signature_key
        self.encryption_token = self.config.encryption_token

    @property
    def register(self) -> Register:
        """Direct access to the register's state (hold ``register.lock`` to read consistently)."""
        return self._server.register

    def client(self, **overrides: Any) -> KassanetClient:
        """A :class:`KassanetClient` with this simulator's credentials and fast retries."""
        options: dict[str, Any] = {
            "timeout": 5.0,
            "retry": RetryPolicy(initial_delay=0.01, max_delay=0.05, jitter=no_jitter),
        }
        options.update(overrides)
        return KassanetClient(
            options.pop("base_url", self.base_url),
            options.pop("signature_key", self.signature_key),
            options.pop("encryption_token", self.encryption_token),
            options.pop("enable_encryption", self.config.encrypt),
            **options,
        )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_simulator(**config: Any) -> SimulatorHandle:
    """Start a simulator on ``127.0.0.1`` and a free port; keywords are :class:`SimulatorConfig`
    fields (``signature_key``, ``encryption_token``, ``encrypt``, ``products``, ``seed``,
    ``tables``, ``prefix``, ``latency_ms``, ``failure_rate``, ``offline``,
    ``clock_skew_seconds``, ``deviations``)."""
    server = make_server(SimulatorConfig(**config))
    thread = threading.Thread(target=server.serve_forever, name="kassanet-simulator", daemon=True)
    thread.start()
    return SimulatorHandle(server, thread)
