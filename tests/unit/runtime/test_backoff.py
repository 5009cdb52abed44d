from __future__ import annotations

import random

from edge_agent.backoff import Backoff


def test_backoff_grows_is_jittered_and_capped() -> None:
    b = Backoff(base_s=1, cap_s=30)
    rng = random.Random(7)
    delays = [b.delay(n, rng) for n in range(10)]
    for n, d in enumerate(delays):
        ceiling = min(30, 2**n)
        assert ceiling / 2 <= d <= ceiling
    assert max(delays) <= 30
    assert len({round(b.delay(3, random.Random(s)), 6) for s in range(20)}) > 10  # not in lock-step
