"""Run aiogram's pure sync filters inline instead of in a worker thread.

aiogram 3 runs every filter that is not `async def` through `asyncio.to_thread`. That is right
for a function of yours that may block, and pure overhead for magic filters (`F.text`) and FSM
`State` objects used as filters, which only compare values in memory: a thread hand-off costs
~100 us, and a text update passes three such filters in the example handlers (bench/README.md
measured ~335 of the ~535 us the dispatcher spends per update). Your own sync filters keep
running in the thread pool.

It reaches past aiogram's public API (an observer's `_handler`, a `FilterObject`'s fields):
tests/unit/test_aiogram_internals.py fails, naming the installed aiogram, when a release
changes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from aiogram import Dispatcher
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.fsm.state import State


def run_pure_filters_inline(dispatcher: Dispatcher) -> int:
    """Make the dispatcher await magic and State filters directly; returns how many changed."""
    changed = 0
    for filter_object in _filter_objects(dispatcher):
        pure = filter_object.magic is not None or isinstance(filter_object.callback, State)
        if pure and not filter_object.awaitable:
            filter_object.callback = _as_coroutine_function(filter_object.callback)
            filter_object.awaitable = True
            changed += 1
    return changed


def _filter_objects(dispatcher: Dispatcher) -> Iterator[FilterObject]:
    for router in dispatcher.chain_tail:
        for observer in router.observers.values():
            # Router-level filters (router.message.filter(...)) live on the observer itself.
            handlers = [*observer.handlers, observer._handler]
            for handler in handlers:
                yield from handler.filters or ()


def _as_coroutine_function(callback: Callable[..., Any]) -> Callable[..., Any]:
    # aiogram has already read the original's signature (which arguments to pass) at
    # registration; the wrapper passes them through unchanged.
    async def inline(*args: Any, **kwargs: Any) -> Any:
        return callback(*args, **kwargs)

    return inline
