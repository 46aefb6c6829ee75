"""The doctor's checks of the shared state: the state's own (reachable, who holds the polling
lease, its keys), or why there are none."""

from __future__ import annotations

from bot.commands.context import DoctorContext
from bot.commands.report import Checks, Report
from bot.factory import create_shared_state

SHARED_STATE = Checks("shared_state", "shared state")


async def add_shared_state_checks(report: Report, ctx: DoctorContext) -> None:
    """The shared state's checks; skipped when none is configured or without a bot id."""
    config = ctx.config
    if not config.shares_state():
        report.add(SHARED_STATE.skipped("none configured: the state lives in each process"))
        return
    if ctx.bot_id is None:
        report.add(SHARED_STATE.skipped("no usable BOT_TOKEN, so no bot id for its keys"))
        return
    shared = create_shared_state(config)
    if shared is None:  # configured, but not by a value that could be used
        report.add(SHARED_STATE.skipped("its configuration is not usable (see above)"))
        return
    try:
        for check in await shared.doctor_checks(config.bot_mode):
            report.add(check)
    finally:
        await shared.close()
