"""A local Telegram Bot API emulator for tests and offline development.

    async with Emulator() as tg:
        bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
        tg.send_command(token, "/start")
        await tg.wait_bot_messages(token, chat_id=100, count=1)

It reproduces what the Bot API server does where bots get it wrong: long polling and its
409 Conflicts, offsets, webhook delivery with secret, per-chat order and retries, rate limits,
formatting and its 400s. Standalone it is `python -m sandbox --port 8081`.
"""

# copier: if sandbox
# Its address also serves a chat page (`chat_page.py`, `static/`) to talk to the bot by hand.
# `python run.py --sandbox` runs it with the bot; `sandbox.testing` is the handler-test fixture.
# copier: endif
from sandbox.emulator import Emulator
from sandbox.errors import BotApiError
from sandbox.flood import FloodLimits
from sandbox.records import ApiCall, Delivery, WebhookState

__all__ = ["ApiCall", "BotApiError", "Delivery", "Emulator", "FloodLimits", "WebhookState"]
