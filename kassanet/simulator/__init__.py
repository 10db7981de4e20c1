"""A runnable Kassanet register implementing the protocol page over real HTTP.

Run it with ``python -m kassanet.simulator --help``; embed it in tests with
:func:`kassanet.testing.start_simulator`.
"""

from kassanet.simulator._catalog import DEFAULT_PAYMENT_TYPES, generate_catalog
from kassanet.simulator._register import (
    DEVIATIONS,
    Deviations,
    EndpointStatus,
    Faults,
    Register,
    RegisterError,
    SimulatorConfig,
)
from kassanet.simulator._server import CONTROL_PREFIX, SimulatorServer, make_server

__all__ = [
    "CONTROL_PREFIX",
    "DEFAULT_PAYMENT_TYPES",
    "DEVIATIONS",
    "Deviations",
    "EndpointStatus",
    "Faults",
    "Register",
    "RegisterError",
    "SimulatorConfig",
    "SimulatorServer",
    "generate_catalog",
    "make_server",
]
