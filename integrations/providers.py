"""The POS providers a location can connect to. Both speak Kassanet; only the name differs."""

from __future__ import annotations

from typing import Final, Literal, TypeGuard

Provider = Literal["hendrickx", "vanhoutte"]
PROVIDERS: Final[tuple[Provider, ...]] = ("hendrickx", "vanhoutte")


def is_provider(value: str) -> TypeGuard[Provider]:
    return value in PROVIDERS
