"""The Hypothesis example database of a fuzz campaign.

LINKHARNESS_FUZZ_DB=redis://HOST:PORT[/DB] shares one database through a Redis server
(Hypothesis's RedisExampleDatabase; Debian's `redis-server`), so several machines fuzz one
campaign: every failure any of them finds is saved there, and every process replays all
saved failures first.  A path (or nothing: `.hypothesis/examples` in the working directory)
keeps a local directory database, Hypothesis's own default.
"""

from __future__ import annotations

import os

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

DB_ENV = "LINKHARNESS_FUZZ_DB"
LOCAL_DEFAULT = os.path.join(".hypothesis", "examples")


def example_database(spec: str | None = None) -> ExampleDatabase:
    """The database `spec` (default: $LINKHARNESS_FUZZ_DB) names."""
    value = spec if spec is not None else os.environ.get(DB_ENV, "")
    if value.startswith(("redis://", "rediss://", "unix://")):
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase

        return RedisExampleDatabase(redis.Redis.from_url(value),
                                    key_prefix=b"linkharness-fuzz:")
    return DirectoryBasedExampleDatabase(value or LOCAL_DEFAULT)
