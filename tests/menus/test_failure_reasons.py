"""What a failed import tells the user: a short reason, with the details kept apart."""

from __future__ import annotations

from bson import ObjectId
from pymongo.errors import BulkWriteError, OperationFailure

import kassanet
from menus.importer import MAX_REASON, describe, error_details


def bulk_write_error(errmsg: str, upserted: int) -> BulkWriteError:
    """What pymongo raises for an unordered bulk write with one refused operation."""
    return BulkWriteError(
        {
            "writeErrors": [{"index": 3, "code": 11000, "errmsg": errmsg, "op": {"x": 1}}],
            "writeConcernErrors": [],
            "nInserted": 0,
            "nUpserted": upserted,
            "upserted": [{"index": i, "_id": ObjectId()} for i in range(upserted)],
        }
    )


def test_a_bulk_write_error_is_described_by_the_servers_first_write_error_only() -> None:
    error = bulk_write_error("E11000 duplicate key error collection: db.items", upserted=2000)

    assert describe(error) == (
        "the database refused a write: E11000 duplicate key error collection: db.items"
    )
    assert error_details(error) == {"type": "BulkWriteError", "code": 11000, "write_errors": 1}


def test_a_long_reason_is_cut_to_the_limit() -> None:
    reason = describe(bulk_write_error("x" * 5000, upserted=1))

    assert len(reason) == MAX_REASON
    assert reason.startswith("the database refused a write: xxx")
    assert reason.endswith("x…")


def test_an_operation_failure_is_described_by_the_servers_errmsg() -> None:
    error = OperationFailure(
        "Transaction 7 has been aborted. full error: {...}",
        code=251,
        details={"ok": 0, "errmsg": "Transaction 7 has been aborted.", "code": 251},
    )

    assert describe(error) == "database error: Transaction 7 has been aborted."
    assert error_details(error) == {"type": "OperationFailure", "code": 251}


def test_a_register_error_keeps_its_message_and_gives_its_status_and_code() -> None:
    message = "Kassanet GetAllProducts failed with HTTP 401 (CLOCK_SKEW: 400 s off)"
    error = kassanet.AuthenticationError(message, status_code=401, code="CLOCK_SKEW")

    assert describe(error) == message
    assert error_details(error) == {
        "type": "AuthenticationError",
        "code": "CLOCK_SKEW",
        "status_code": 401,
    }
