"""The errors a store raises when its storage cannot be reached, named once for the layers above.

The layers above the store catch these without importing the Redis client (tests/
test_store_boundary.py): the REST layer answers `storage-unavailable`, a background loop waits
and retries. The in-memory store never raises them.
"""

from __future__ import annotations

from redis.exceptions import RedisError

UNAVAILABLE: tuple[type[Exception], ...] = (RedisError, OSError)
