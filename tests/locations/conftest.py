from tests.integrations.conftest import alice, api, bob, other_api

__all__ = ["alice", "api", "bob", "other_api"]
