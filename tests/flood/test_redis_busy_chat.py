"""With REDIS_URL (shared update record, FSM storage and flood budget), one user sending 200
messages at once still keeps no other user waiting."""

from __future__ import annotations

import logging
from pathlib import Path

from tests.helpers.busy_chat import (
    ANSWERED_WITHIN,
    assert_flooder_limited,
    dropped_so_far,
    run_flood,
)
from tests.helpers.flood import StartEmulator
from tests.helpers.logs import LogWatcher
from tests.helpers.redis import RedisServer


async def test_one_user_sending_200_at_once_keeps_no_other_user_waiting_with_redis(
    limited_emulator: StartEmulator,
    token: str,
    tmp_path: Path,
    logs: LogWatcher,
    redis_server: RedisServer,
) -> None:
    tg = await limited_emulator(1)
    dropped_before = dropped_so_far()
    took = await run_flood(tg, token, tmp_path, logs, REDIS_URL=redis_server.url)
    assert took <= ANSWERED_WITHIN
    assert_flooder_limited(tg, token, logs, dropped_so_far() - dropped_before)
    # The shared record's offset passed the flooder's backlog, once, saying so.
    assert logs.count("confirmed before they finish", logging.WARNING) == 1
