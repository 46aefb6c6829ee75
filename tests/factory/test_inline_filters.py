"""Pure sync filters (F.text, State) run inline; a user's own sync filter keeps its thread."""

from __future__ import annotations

import threading
from pathlib import Path

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message, Update

from bot.owner import BotRuntime
from bot.runtime.updates.inline_filters import run_pure_filters_inline
from bot.settings import load_settings
from sandbox import Emulator
from tests.helpers.constants import TOKEN


async def test_the_template_dispatcher_awaits_every_magic_and_state_filter(tmp_path: Path) -> None:
    settings = load_settings(overrides={"BOT_TOKEN": TOKEN}, root=tmp_path, environment=False)
    async with BotRuntime(settings) as runtime:
        dispatcher = runtime.dispatcher

    filters = [
        f
        for router in dispatcher.chain_tail
        for observer in router.observers.values()
        for handler in observer.handlers
        for f in handler.filters or ()
    ]
    assert filters and all(f.awaitable for f in filters)
    assert run_pure_filters_inline(dispatcher) == 0  # idempotent


async def test_handlers_still_answer_and_a_users_sync_filter_still_runs_in_a_thread(
    emulator: Emulator, token: str
) -> None:
    filter_threads: list[int] = []

    def users_filter(message: Message) -> bool:  # sync: may block, so aiogram threads it
        filter_threads.append(threading.get_ident())
        return True

    async def shout(message: Message) -> None:
        await message.answer((message.text or "").upper())

    router = Router()
    router.message.filter(F.chat.type == "private")
    router.message.register(shout, F.text, users_filter)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    assert run_pure_filters_inline(dispatcher) == 2

    session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
    async with Bot(token, session=session) as bot:
        update = emulator.send_text(token, "hi", chat_id=5)
        await dispatcher.feed_update(bot, Update.model_validate(update, context={"bot": bot}))

    assert [m["text"] for m in emulator.bot_messages(token, 5)] == ["HI"]
    assert filter_threads and filter_threads[0] != threading.get_ident()
