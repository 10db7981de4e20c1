from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from fuzz_api import fuzz


@pytest.mark.slow
@pytest.mark.timeout(600)  # a hang guard, not a speed target (speed belongs in benchmarks/)
def test_the_api_answers_generated_requests_without_500s_and_as_documented(
    db: Any, indexed_db: Any
) -> None:
    failures = fuzz(max_examples=30)

    assert failures == []
