"""The parts of aiogram that are not its public API, as bot/runtime/updates/inline_filters.py
relies on them: when an aiogram release changes one, these tests fail and say which, with the
installed version, instead of the filters silently going back to a thread each (or breaking).

What the module assumes:
- a router-level filter (`router.message.filter(...)`) is kept on the observer's private
  `_handler` (a `HandlerObject`), beside `observer.handlers`;
- a filter is a `FilterObject` whose `magic` holds a magic filter (`F.text`), and whose
  `callback` and `awaitable` can be replaced after registration;
- `FilterObject.call` reads `awaitable` at each call: True awaits the callback in the event
  loop's thread, False sends it to a worker thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Any

import aiogram
from aiogram import Dispatcher, F, Router
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.fsm.state import State

from bot.runtime.updates.inline_filters import run_pure_filters_inline

MODULE = "bot/runtime/updates/inline_filters.py"


def changed(what: str) -> str:
    """The failure message: the installed aiogram, what changed, and what to update."""
    return (
        f"aiogram {aiogram.__version__} changed {what}: update {MODULE} to the new internals, "
        "or drop run_pure_filters_inline() from bot/factory.py (pure filters then run in a "
        "thread each, as aiogram does by default)."
    )


def test_router_level_filters_live_on_the_observers_private_handler() -> None:
    router = Router()
    router.message.filter(F.chat.type == "private")
    handler = getattr(router.message, "_handler", None)
    assert isinstance(handler, HandlerObject), changed(
        "TelegramEventObserver._handler (expected a HandlerObject holding router-level filters)"
    )
    assert [type(f) for f in handler.filters or ()] == [FilterObject], changed(
        "where TelegramEventObserver.filter() keeps its filters (expected _handler.filters)"
    )


def test_a_filter_object_keeps_its_magic_filter_and_a_replaceable_callback() -> None:
    fields = {field.name for field in dataclasses.fields(FilterObject)}
    assert {"callback", "awaitable", "magic"} <= fields, changed(
        f"FilterObject's fields (expected callback, awaitable, magic; found {sorted(fields)})"
    )
    magic = FilterObject(F.text)
    assert magic.magic is not None and magic.awaitable is False, changed(
        "FilterObject(F.text) (expected .magic set and .awaitable False)"
    )
    state = FilterObject(State("waiting"))
    assert isinstance(state.callback, State) and state.awaitable is False, changed(
        "FilterObject(State) (expected the State as .callback and .awaitable False)"
    )


async def test_a_filter_runs_in_the_loops_thread_once_made_awaitable() -> None:
    threads: list[int] = []

    def pure(*_args: Any, **_kwargs: Any) -> bool:
        threads.append(threading.get_ident())
        return True

    filter_object = FilterObject(pure)
    await filter_object.call()
    assert threads[-1] != threading.get_ident(), changed(
        "FilterObject.call for a sync callback (expected a worker thread, asyncio.to_thread)"
    )

    async def inline(*args: Any, **kwargs: Any) -> bool:
        return pure(*args, **kwargs)

    filter_object.callback, filter_object.awaitable = inline, True
    await filter_object.call()
    assert threads[-1] == threading.get_ident(), changed(
        "FilterObject.call (expected it to await .callback in the loop when .awaitable is True)"
    )


def test_the_dispatchers_pure_filters_are_all_found() -> None:
    # The observable result of the module on a dispatcher: one router-level magic filter, one
    # handler with a magic filter and a State, and a sync function of the user's (left alone).
    dispatcher = Dispatcher()
    router = Router()
    router.message.filter(F.chat.type == "private")
    router.message.register(lambda: None, F.text, State("waiting"), lambda: True)
    dispatcher.include_router(router)
    assert run_pure_filters_inline(dispatcher) == 3, changed(
        "how routers, observers and handlers hold their filters"
    )
    router_filters = router.message._handler.filters or []
    assert asyncio.iscoroutinefunction(router_filters[0].callback)


async def test_an_inner_middleware_sees_the_chosen_handler_and_its_argument_names() -> None:
    # bot/per_update.py opens a per-update service only for a handler that names it: it reads
    # `data["handler"]` (a HandlerObject) and its `params`, and registers itself on the
    # dispatcher's observers so that it wraps the handlers of nested routers too.
    seen: list[Any] = []

    async def spy(handler: Any, event: Any, data: dict[str, Any]) -> Any:
        seen.append(data.get("handler"))
        return await handler(event, data)

    async def handler(message: Any, db: Any = None) -> None:
        return None

    dispatcher = Dispatcher()
    router = Router()
    router.message.register(handler)
    dispatcher.include_router(router)
    dispatcher.message.middleware(spy)
    await dispatcher.propagate_event(update_type="message", event=object())

    fix = "update bot/per_update.py (how it learns which arguments the handler takes)"
    assert seen and isinstance(seen[0], HandlerObject), (
        f"aiogram {aiogram.__version__} no longer passes an inner middleware of a parent "
        f"router the chosen handler as data['handler']: {fix}"
    )
    assert "db" in getattr(seen[0], "params", set()), (
        f"aiogram {aiogram.__version__} changed HandlerObject.params: {fix}"
    )
