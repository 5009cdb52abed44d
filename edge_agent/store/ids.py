"""Item ids: UUIDv7 (RFC 9562), time-ordered and unique across agents.

Headquarters deduplicates resends by id, so an id must never collide between branches: 74 of the
128 bits are random. Within one process ids are also strictly increasing (RFC 9562 method 3:
the random field acts as a counter inside one millisecond), so sorting by id sorts by acceptance.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

_RAND_BITS = 74  # 12 bits of rand_a + 62 bits of rand_b
_RAND_LIMIT = 1 << _RAND_BITS
_SEED_BITS = _RAND_BITS - 8  # leave room to count up within a millisecond without overflowing


class UUIDv7:
    """A monotonic UUIDv7 source. Not thread-safe: the store's single writer owns one."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        # A fast PRNG seeded from the OS: ids need uniqueness, not secrecy.
        self._rng = random.Random(os.urandom(16))
        self._last_ms = -1
        self._counter = 0

    def next_int(self) -> int:
        """The next id as a 128-bit integer."""
        ms = max(int(self._clock() * 1000), 0) & ((1 << 48) - 1)
        if ms > self._last_ms:
            self._last_ms = ms
            self._counter = self._rng.getrandbits(_SEED_BITS)
        else:
            # Same millisecond, or the clock stepped back: keep counting from the last id.
            self._counter += 1 + self._rng.getrandbits(8)
            if self._counter >= _RAND_LIMIT:
                self._last_ms += 1
                self._counter = self._rng.getrandbits(_SEED_BITS)
        rand_a = self._counter >> 62
        rand_b = self._counter & ((1 << 62) - 1)
        return (self._last_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b

    def __call__(self) -> str:
        """The next id in canonical 8-4-4-4-12 hex form."""
        h = f"{self.next_int():032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
