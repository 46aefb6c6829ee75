"""Your bot's own settings. Add a field here (type, default, description), and its line to
both `env/*.example` files; your handlers (and your `lifespan`, as `services.settings`)
receive it as `settings.<name>`:

    async def greet(message: Message, settings: Settings) -> None:
        await message.answer(settings.greeting)

They are part of the one `Settings` (`bot.settings`), loaded and checked with the runtime's:
the docs' configuration table lists them by themselves, and a test checks the env examples.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, field_validator

from bot.settings.fields import IdList, setting, split_commas


class FeatureSettings(BaseModel):
    """Your bot's own settings: add a field here, and its line to both env examples."""

    admin_ids: IdList = setting(
        (),
        "Telegram user ids allowed to use the admin commands (`/admin`), comma-separated",
        shown_default="none",
        hint="Telegram user ids separated by commas, e.g. 12345,67890",
    )

    default_language: str = setting(
        "en",
        "the language of users whose Telegram app's language the bot does not speak, and of "
        "the command menu's default (one of handlers/locales/)",
        hint="a language code of handlers/locales/, e.g. en",
    )

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        return split_commas(value)
