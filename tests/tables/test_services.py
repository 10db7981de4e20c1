"""Table sections: the integration's synced section and hand-made ones (real MongoDB)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pymongo.database import Database

from tables import services
from tables.repository import Table, TableSectionRepository
from upvendo.mongo import get_client

LOCATION = "65f000000000000000000001"
OTHER_LOCATION = "65f000000000000000000002"


def sections(db: Database[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(db.table_sections.find({}, {"_id": 0, "created_at": 0, "updated_at": 0}))


def oplog_entries(db: Database[dict[str, Any]]) -> int:
    """How many writes the replica set logged on the collection (no-op updates log none)."""
    return get_client().local["oplog.rs"].count_documents({"ns": f"{db.name}.table_sections"})


def test_first_sync_creates_the_providers_protected_section(
    indexed_db: Database[dict[str, Any]],
) -> None:
    result = services.sync_table_section(LOCATION, "hendrickx", "Hendrickx", [3, 1, 2])

    doc = indexed_db.table_sections.find_one({})
    assert doc is not None
    assert result == {
        "section_id": str(doc["_id"]),
        "created": 3,
        "updated": 0,
        "deleted": 0,
        "tables": 3,
    }
    assert sections(indexed_db) == [
        {
            "location_id": LOCATION,
            "imported_by": "hendrickx",
            "name": "Hendrickx tables",
            "protected": True,
            "tables": [
                {"number": 1, "name": "1"},
                {"number": 2, "name": "2"},
                {"number": 3, "name": "3"},
            ],
        }
    ]
    assert doc["created_at"] == doc["updated_at"]


def test_resync_with_the_same_tables_writes_nothing(
    indexed_db: Database[dict[str, Any]],
) -> None:
    first = services.sync_table_section(LOCATION, "hendrickx", "Hendrickx", [(1, "Bar"), 2])
    before = indexed_db.table_sections.find_one({})
    writes_before = oplog_entries(indexed_db)

    again = services.sync_table_section(LOCATION, "hendrickx", "Hendrickx", [2, (1, "Bar")])

    assert again == {**first, "created": 0, "updated": 0, "deleted": 0, "tables": 2}
    assert indexed_db.table_sections.find_one({}) == before
    assert oplog_entries(indexed_db) == writes_before == 1  # the insert only


def test_resync_adds_renames_and_removes_tables(indexed_db: Database[dict[str, Any]]) -> None:
    first = services.sync_table_section(LOCATION, "vanhoutte", "Vanhoutte", [1, 2, (3, "Bar")])
    before = indexed_db.table_sections.find_one({})
    assert before is not None

    result = services.sync_table_section(
        LOCATION, "vanhoutte", "Vanhoutte", [(1, "Window"), (3, "Bar"), 4, 5]
    )

    assert result == {
        "section_id": first["section_id"],
        "created": 2,
        "updated": 1,
        "deleted": 1,
        "tables": 4,
    }
    after = indexed_db.table_sections.find_one({})
    assert after is not None
    assert after["tables"] == [
        {"number": 1, "name": "Window"},
        {"number": 3, "name": "Bar"},
        {"number": 4, "name": "4"},
        {"number": 5, "name": "5"},
    ]
    assert after["created_at"] == before["created_at"]
    assert after["updated_at"] > before["updated_at"]


def test_each_provider_and_location_has_its_own_section(
    indexed_db: Database[dict[str, Any]],
) -> None:
    hendrickx = services.sync_table_section(LOCATION, "hendrickx", "Hendrickx", [1])
    vanhoutte = services.sync_table_section(LOCATION, "vanhoutte", "Vanhoutte", [1, 2])
    elsewhere = services.sync_table_section(OTHER_LOCATION, "hendrickx", "Hendrickx", [7])

    assert len({hendrickx["section_id"], vanhoutte["section_id"], elsewhere["section_id"]}) == 3
    names = {(doc["location_id"], doc["name"]) for doc in indexed_db.table_sections.find()}
    assert names == {
        (LOCATION, "Hendrickx tables"),
        (LOCATION, "Vanhoutte tables"),
        (OTHER_LOCATION, "Hendrickx tables"),
    }


def test_sync_inside_an_aborted_transaction_leaves_nothing(
    indexed_db: Database[dict[str, Any]],
) -> None:
    with get_client().start_session() as session:
        session.start_transaction()
        result = services.sync_table_section(
            LOCATION, "hendrickx", "Hendrickx", [1, 2], session=session
        )
        assert result["created"] == 2
        assert indexed_db.table_sections.count_documents({}) == 0  # not visible outside yet
        session.abort_transaction()

    assert indexed_db.table_sections.count_documents({}) == 0


def test_concurrent_first_syncs_make_one_section_per_location(
    indexed_db: Database[dict[str, Any]],
) -> None:
    # Without the unique index, 8 racing first syncs on 20 locations create ~30 sections.
    locations = [f"65f0000000000000000001{n:02d}" for n in range(20)]
    results: dict[str, set[str]] = {location: set() for location in locations}

    def sync(location: str, barrier: threading.Barrier) -> None:
        barrier.wait(timeout=10)
        result = services.sync_table_section(location, "hendrickx", "Hendrickx", [1, 2])
        results[location].add(str(result["section_id"]))

    for location in locations:
        barrier = threading.Barrier(8)
        threads = [threading.Thread(target=sync, args=(location, barrier)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)

    assert all(len(section_ids) == 1 for section_ids in results.values())
    assert indexed_db.table_sections.count_documents({}) == len(locations)


def test_table_names_are_stored_literally(indexed_db: Database[dict[str, Any]]) -> None:
    services.sync_table_section(LOCATION, "hendrickx", "$name", [(1, "$tables"), (2, " ")])

    doc = indexed_db.table_sections.find_one({})
    assert doc is not None
    assert doc["name"] == "$name tables"
    assert doc["tables"] == [{"number": 1, "name": "$tables"}, {"number": 2, "name": "2"}]


def test_table_numbers_below_one_are_refused(indexed_db: Database[dict[str, Any]]) -> None:
    with pytest.raises(ValueError, match=r"^Table numbers start at 1, got 0\.$"):
        services.sync_table_section(LOCATION, "hendrickx", "Hendrickx", [1, 0])

    assert indexed_db.table_sections.count_documents({}) == 0


def test_a_hand_made_section_can_be_deleted(indexed_db: Database[dict[str, Any]]) -> None:
    section = services.create_section(LOCATION, "Terrace", [12, 10])
    assert section.tables == (Table(10, "10"), Table(12, "12"))
    assert section.protected is False
    assert section.imported_by is None

    services.delete_section(LOCATION, section.id)

    assert indexed_db.table_sections.count_documents({}) == 0


def test_the_integrations_section_cannot_be_deleted(
    indexed_db: Database[dict[str, Any]],
) -> None:
    synced = services.sync_table_section(LOCATION, "hendrickx", "Hendrickx", [1])

    with pytest.raises(services.SectionProtected) as raised:
        services.delete_section(LOCATION, str(synced["section_id"]))

    assert str(raised.value) == (
        "This section is managed by the Hendrickx integration; "
        "disconnect the integration to remove it."
    )
    assert indexed_db.table_sections.count_documents({}) == 1


def test_a_section_of_another_location_is_not_found(
    indexed_db: Database[dict[str, Any]],
) -> None:
    section = services.create_section(OTHER_LOCATION, "Terrace", [1])

    with pytest.raises(services.SectionNotFound):
        services.delete_section(LOCATION, section.id)
    with pytest.raises(services.SectionNotFound):
        services.delete_section(LOCATION, "not-an-id")

    assert TableSectionRepository().get_for_location(OTHER_LOCATION, section.id) == section
