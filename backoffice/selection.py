"""Which of the vendor's locations a backoffice page shows.

`?location=<id>` picks one (and is remembered in the session); without it the remembered one
is shown, or the vendor's first location by name. Another vendor's or an unknown id in the
query is "not found", exactly like the API answers it.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

from locations.repository import Location

SESSION_KEY = "backoffice_location_id"


class LocationNotFound(LookupError):
    pass


def select_location(
    locations: Sequence[Location], requested: str | None, session: MutableMapping[str, Any]
) -> Location | None:
    """The location to show among `locations` (the vendor's); None when it has none."""
    by_id = {location.id: location for location in locations}
    if requested:
        if requested not in by_id:
            raise LocationNotFound(requested)
        session[SESSION_KEY] = requested
        return by_id[requested]
    remembered = by_id.get(session.get(SESSION_KEY, ""))
    if remembered is not None:
        return remembered
    return locations[0] if locations else None
