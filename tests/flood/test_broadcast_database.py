"""/broadcast to the users in the database: at the limit, in the background, surviving kill -9
without sending anyone the message twice, while the bot keeps answering everyone."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from bot.database.session import Database
from bot.database.startup import upgrade_on_start
from bot.settings import load_settings
from handlers.models import User
from sandbox import Emulator
from tests.helpers.flood import (
    ADMIN,
    BROADCAST_REPORT,
    StartEmulator,
    bot_limits,
    delivered,
    too_many_requests,
)
from tests.helpers.processes import BotProcess

USER = 2


def broadcast_to(tg: Emulator, token: str, chat_id: int) -> list[dict[str, object]]:
    """The broadcast's messages in one chat (the admin's chat also has the command's answers)."""
    return [m for m in tg.bot_messages(token, chat_id) if m["text"] == "Hello, everyone!"]


async def remember_users(env: dict[str, str], user_ids: Iterable[int]) -> None:
    """The users the bot has seen, written into its database (at head) before it starts."""
    settings = load_settings(overrides=env, environment=False)
    assert await upgrade_on_start(settings)
    database = Database(settings)
    now = datetime.now(UTC)
    try:
        async with database.session() as session:
            session.add_all(
                User(id=i, first_name=f"User {i}", first_seen=now, last_seen=now) for i in user_ids
            )
    finally:
        await database.close()


async def test_a_broadcast_killed_halfway_and_started_again_reaches_every_chat_once(
    limited_emulator: StartEmulator,
    token: str,
    tmp_path: Path,
    start_bot: Callable[..., Awaitable[BotProcess]],
) -> None:
    scale = 2  # 60 messages/s in all: 600 chats take 10 s
    tg = await limited_emulator(scale)
    seen = list(range(1001, 1601))
    tg.add_chats(token, seen)
    tg.block_bot(token, 1500)
    # Everyone the bot has seen: the 600, and the admin, recorded as they send the command.
    audience = [*seen, ADMIN]
    env = {
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": tg.base_url,
        "LOCK_DIR": str(tmp_path / "state"),
        "ADMIN_IDS": str(ADMIN),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        "SHUTDOWN_TIMEOUT": "5",
        **bot_limits(scale),
    }
    await remember_users(env, seen)  # /broadcast sends to the users in the database

    def reached() -> int:
        return sum(c.params["chat_id"] in audience for c in delivered(tg, token))

    first = await start_bot(env)
    await first.wait_for_line("is polling", timeout=60)
    tg.send_command(token, "/broadcast Hello, everyone!", chat_id=ADMIN)
    await tg.wait_until(lambda: reached() >= 200, timeout=60, what="200 chats reached")
    first.send_signal(signal.SIGKILL)
    await first.wait()
    at_kill = reached()
    assert at_kill < len(audience)

    second = await start_bot(env)
    await tg.wait_until(lambda: reached() > at_kill + 10, timeout=60, what="the broadcast resumed")
    tg.send_command(token, "/start", chat_id=USER)
    reply = await tg.wait_bot_messages(token, USER, 1, timeout=30)
    await tg.wait_until(
        lambda: any(BROADCAST_REPORT.search(m["text"]) for m in tg.bot_messages(token, ADMIN)),
        timeout=60,
        what="the broadcast's report",
    )
    report = next(m for m in tg.bot_messages(token, ADMIN) if BROADCAST_REPORT.search(m["text"]))
    # The user was answered while the broadcast went on, not after it.
    assert (
        tg.bot(token).message_seq[(USER, reply[0]["message_id"])]
        < tg.bot(token).message_seq[(ADMIN, report["message_id"])]
    )
    await second.stop()

    match = BROADCAST_REPORT.search(report["text"])
    assert match is not None
    sent, total, blocked, failed, unknown = (int(g or 0) for g in match.groups())
    per_chat = {chat: len(broadcast_to(tg, token, chat)) for chat in audience}
    assert max(per_chat.values()) == 1  # no one got it twice
    assert (total, blocked, failed) == (len(audience), 1, 0)
    # A chat left unknown (its request was on its way at the kill) was not sent again: it
    # got the message once if the request had arrived, else not at all.
    assert sent + unknown == len(audience) - 1
    assert sent <= sum(per_chat.values()) <= sent + unknown
    assert unknown <= 1
    assert too_many_requests(tg, token) == 0
