"""The bot's features. Add a module with a `create_router()` and list it in get_routers()."""

from aiogram import Router

from handlers import echo, errors, menu, start, survey


def get_routers() -> list[Router]:
    """Fresh routers, in the order updates try them: the catch-all echo goes last.

    A router can be attached to one dispatcher only, so each call builds new ones
    (the tests and every webhook worker build their own dispatcher).
    """
    return [
        errors.create_router(),
        start.create_router(),
        menu.create_router(),
        survey.create_router(),
        echo.create_router(),
    ]
