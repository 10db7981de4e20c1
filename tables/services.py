"""Table sections: the business rules.

- A POS integration owns one protected section per location, named "<Provider> tables"; each
  import replaces its tables with the POS's (`sync_table_section`). Only disconnecting the
  integration removes it (`integrations.imported_data.delete_imported`).
- A vendor may also make sections by hand; those can be deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pymongo.client_session import ClientSession

from tables.repository import Table, TableSection, TableSectionRepository


class TableSectionError(Exception):
    """Base of this module's errors; `str()` is a message fit for the user."""


class SectionNotFound(TableSectionError):
    def __init__(self, section_id: str) -> None:
        super().__init__(f"Table section {section_id} does not exist at this location.")


class SectionProtected(TableSectionError):
    def __init__(self, section: TableSection) -> None:
        self.section = section
        super().__init__(
            f"This section is managed by the {_display_name(section.imported_by)} integration; "
            "disconnect the integration to remove it."
        )


def _display_name(provider: str | None) -> str:
    # Imported here: integrations builds on tables (its importer calls sync_table_section).
    from integrations.services import UnknownProviderError, get_service

    try:
        return get_service(provider or "").display_name
    except UnknownProviderError:
        return "POS"


@dataclass(frozen=True)
class SyncResult:
    section_id: str
    created: int
    updated: int
    deleted: int
    tables: int

    def as_dict(self) -> dict[str, str | int]:
        return {
            "section_id": self.section_id,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "tables": self.tables,
        }


def imported_section_name(name_prefix: str) -> str:
    return f"{name_prefix} tables"


def normalize_tables(table_numbers: Sequence[int | tuple[int, str]]) -> list[Table]:
    """Tables sorted by number; a bare number is named after itself (as the POS does).

    A number given twice keeps its first name. Raises ValueError for a number below 1.
    """
    by_number: dict[int, Table] = {}
    for entry in table_numbers:
        number, name = (entry, str(entry)) if isinstance(entry, int) else entry
        if number < 1:
            raise ValueError(f"Table numbers start at 1, got {number}.")
        by_number.setdefault(number, Table(number=number, name=name.strip() or str(number)))
    return [by_number[number] for number in sorted(by_number)]


def sync_table_section(
    location_id: str,
    provider: str,
    name_prefix: str,
    table_numbers: Sequence[int | tuple[int, str]],
    session: ClientSession | None = None,
) -> dict[str, str | int]:
    """Create or update the provider's protected section for the location.

    Its tables become exactly `table_numbers` (ints, or `(number, name)` pairs as the POS
    reports them). Returns `{"section_id", "created", "updated", "deleted", "tables"}`, the
    counts being tables added, renamed and removed. Running it again with the same input
    writes nothing and reports 0 / 0 / 0. Pass the importer's `session` to run it inside its
    transaction.
    """
    tables = normalize_tables(table_numbers)
    before, after = TableSectionRepository().replace_imported(
        location_id, provider, imported_section_name(name_prefix), tables, session=session
    )
    old = {table.number: table.name for table in before.tables} if before else {}
    new = {table.number: table.name for table in tables}
    return SyncResult(
        section_id=after.id,
        created=len(new.keys() - old.keys()),
        updated=sum(1 for number in new.keys() & old.keys() if new[number] != old[number]),
        deleted=len(old.keys() - new.keys()),
        tables=len(tables),
    ).as_dict()


def create_section(location_id: str, name: str, table_numbers: Sequence[int]) -> TableSection:
    """Make a section by hand (unprotected; the vendor may delete it)."""
    return TableSectionRepository().create_hand_made(
        location_id, name, normalize_tables(table_numbers)
    )


def list_sections(location_id: str) -> list[TableSection]:
    return TableSectionRepository().list_for_location(location_id)


def get_section(location_id: str, section_id: str) -> TableSection:
    section = TableSectionRepository().get_for_location(location_id, section_id)
    if section is None:
        raise SectionNotFound(section_id)
    return section


def delete_section(location_id: str, section_id: str) -> None:
    """Delete a hand-made section.

    Raises SectionProtected for an integration's section, SectionNotFound when there is none.
    """
    repository = TableSectionRepository()
    if repository.delete_unprotected(location_id, section_id):
        return
    # Nothing deleted: tell the caller why.
    raise SectionProtected(get_section(location_id, section_id))
