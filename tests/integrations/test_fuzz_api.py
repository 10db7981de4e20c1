from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from fuzz_api import fuzz


@pytest.mark.slow
def test_the_api_answers_generated_requests_without_500s_and_as_documented(
    db: Any, indexed_db: Any
) -> None:
    started = time.monotonic()

    failures = fuzz(max_examples=30)

    assert failures == []
    assert time.monotonic() - started < 90
