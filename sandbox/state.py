"""The state of one bot (one token): its update queue, chats, messages, webhook and logs."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sandbox.errors import TERMINATED_BY_OTHER_GET_UPDATES, BotApiError, bad_request
from sandbox.flood import FloodControl
from sandbox.records import ApiCall, Delivery, EmulatorSettings, Fault, Signal, WebhookState
from sandbox.shapes import bot_user

JSON = dict[str, Any]

UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
# Telegram leaves these out unless a bot asks for them by name.
DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
DEFAULT_MAX_CONNECTIONS = 40


class BotState:
    """Everything the emulator knows about one token. Mutated only on the event loop."""

    def __init__(self, token: str, bot_id: int, settings: EmulatorSettings, signal: Signal) -> None:
        self.token = token
        self.bot_id = bot_id
        self.settings = settings
        self.signal = signal
        # Pending updates in update_id order: the Bot API server's per-bot queue, shared by
        # getUpdates and webhook delivery; an update leaves it only when confirmed.
        self.updates: dict[int, JSON] = {}
        self._next_update_id = 1
        self.allowed_updates: list[str] | None = None  # None: Telegram's default set
        self.webhook_url = ""
        self.webhook_secret = ""
        self.max_connections = 0
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.next_webhook_change = 0.0  # monotonic time before which setWebhook gets a 429
        self.delivery_paused = False
        # Set whenever the delivery worker has something new to look at.
        self.delivery_wakeup = asyncio.Event()
        self.on_webhook_change: Callable[[BotState], None] = lambda _bot: None
        self.chats: dict[int, JSON] = {}
        self.messages: dict[int, dict[int, JSON]] = {}
        self._last_message_id: dict[int, int] = {}
        # The reply keyboard each chat shows (Telegram keeps it in the client, not the message).
        self.reply_keyboards: dict[int, JSON] = {}
        self.blocked_by: set[int] = set()  # users who blocked the bot: writing to them is a 403
        self.callback_queries: dict[str, JSON | None] = {}  # id -> the answer, None until then
        self.commands: dict[str, list[JSON]] = {}
        self.calls: deque[ApiCall] = deque(maxlen=settings.max_records)
        self.deliveries: deque[Delivery] = deque(maxlen=settings.max_records)
        self.faults: list[Fault] = []
        limits = settings.flood_limits
        self.flood = FloodControl(limits) if limits is not None else None
        self._long_poll: asyncio.Future[None] | None = None
        # One counter for messages and calls, so a chat's messages and the calls that failed
        # in it can be put in the order they happened; `version` counts every change.
        self._sequence = itertools.count(1)
        self.message_seq: dict[tuple[int, int], int] = {}
        self.version = 0

    def me(self) -> JSON:
        """The bot as a `User`."""
        return bot_user(self.bot_id)

    # -- updates -------------------------------------------------------------------------

    def enqueue(self, kind: str, payload: JSON) -> JSON:
        """Queue an update of `kind`; like Telegram, drop it if the bot did not allow its type."""
        update: JSON = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        if self.accepts(kind):
            self.updates[update["update_id"]] = update
            self.wake_long_poll()
            self.delivery_wakeup.set()
        self.changed()
        return update

    def accepts(self, kind: str) -> bool:
        """Whether an update of this type is queued under the current `allowed_updates`."""
        if self.allowed_updates is None:
            return kind not in DEFAULT_EXCLUDED
        return kind in self.allowed_updates

    def set_allowed_updates(self, value: Any) -> None:
        """Remember `allowed_updates` as the server does: unparsable or absent keeps the old set."""
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return
        known = [name.lower() for name in value if name.lower() in UPDATE_TYPES]
        if not known:
            # An empty (or all-unknown) list means "the default set".
            self.allowed_updates = None
        else:
            self.allowed_updates = [t for t in UPDATE_TYPES if t in known]

    def confirm_below(self, offset: int) -> None:
        """Forget every update whose id is below `offset` (a positive getUpdates offset)."""
        for update_id in [i for i in self.updates if i < offset]:
            del self.updates[update_id]
        self.changed()

    def keep_last(self, count: int) -> None:
        """Forget all but the last `count` updates (a negative getUpdates offset)."""
        for update_id in list(self.updates)[: max(len(self.updates) - count, 0)]:
            del self.updates[update_id]
        self.changed()

    def acknowledge(self, update_id: int) -> None:
        """Forget one update the webhook answered with 2xx."""
        self.updates.pop(update_id, None)
        self.changed()

    def drop_pending(self) -> None:
        """Forget every pending update (`drop_pending_updates`)."""
        self.updates.clear()
        self.changed()

    def head(self, limit: int) -> list[JSON]:
        """The oldest `limit` pending updates."""
        return [self.updates[i] for i in list(self.updates)[:limit]]

    # -- long polling --------------------------------------------------------------------

    def park_long_poll(self) -> asyncio.Future[None]:
        """Register a waiting getUpdates; the one parked before it gets the 409."""
        self.abort_long_poll(TERMINATED_BY_OTHER_GET_UPDATES)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._long_poll = waiter
        self.changed()
        return waiter

    @property
    def long_poll_parked(self) -> bool:
        """Whether a getUpdates is waiting right now (tests wait for this before acting)."""
        return self._long_poll is not None and not self._long_poll.done()

    def release_long_poll(self, waiter: asyncio.Future[None]) -> None:
        """Forget `waiter` once its request is answered (unless a newer one replaced it)."""
        if self._long_poll is waiter:
            self._long_poll = None
            self.changed()

    def abort_long_poll(self, description: str) -> None:
        """Answer the parked getUpdates, if any, with a 409 Conflict."""
        waiter, self._long_poll = self._long_poll, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(BotApiError(409, description))

    def wake_long_poll(self) -> None:
        """Let the parked getUpdates, if any, answer now with what is queued."""
        if self._long_poll is not None and not self._long_poll.done():
            self._long_poll.set_result(None)

    # -- chats and messages --------------------------------------------------------------

    def chat(self, chat_id: Any) -> JSON:
        """A chat the bot may write to: one a user has written in. Otherwise 400."""
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, int) and chat_id in self.chats:
            return self.chats[chat_id]
        raise bad_request("chat not found")

    def new_message_id(self, chat_id: int) -> int:
        """The next message id of a chat (ids are per chat and shared by bot and users)."""
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def store_message(self, message: JSON) -> None:
        """Keep a message (new or edited) so it can be edited, deleted and read back."""
        chat_id, message_id = message["chat"]["id"], message["message_id"]
        self.messages.setdefault(chat_id, {})[message_id] = message
        self.message_seq.setdefault((chat_id, message_id), next(self._sequence))
        self.changed()

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """Forget a message: it is gone from the chat."""
        self.messages.get(chat_id, {}).pop(message_id, None)
        self.message_seq.pop((chat_id, message_id), None)
        self.changed()

    def find_message(self, chat_id: int, message_id: int) -> JSON | None:
        """The current version of a message, or None if it never existed or was deleted."""
        return self.messages.get(chat_id, {}).get(message_id)

    # -- webhook -------------------------------------------------------------------------

    def webhook_state(self) -> WebhookState:
        """A snapshot of the webhook as getWebhookInfo reports it."""
        return WebhookState(
            url=self.webhook_url,
            secret_token=self.webhook_secret or None,
            max_connections=self.max_connections,
            allowed_updates=None if self.allowed_updates is None else list(self.allowed_updates),
            pending_update_count=len(self.updates),
            last_error_date=self.last_error_date,
            last_error_message=self.last_error_message,
        )

    def record_webhook_error(self, message: str) -> None:
        """Remember a failed delivery as `last_error_date` / `last_error_message`."""
        self.last_error_date = int(time.time())
        self.last_error_message = message
        self.changed()

    # -- bookkeeping ---------------------------------------------------------------------

    def record_call(self, call: ApiCall) -> None:
        """Log an answered call (the oldest go once `max_records` are kept)."""
        self.calls.append(dataclasses.replace(call, seq=next(self._sequence)))
        self.changed()

    def admit(self, method: str, params: JSON) -> None:
        """Flood control: count a call that sends to a chat, or raise 429 (when limits are on).
        A call to a chat the bot cannot write to is left to the method's own 400."""
        if self.flood is None:
            return
        chat_id = params.get("chat_id")
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat_id is not None and chat is None:
            return
        self.flood.admit(method, chat)

    def take_fault(self, method: str) -> Fault | None:
        """The injected fault for this call of `method`, consuming one of its uses."""
        for fault in self.faults:
            if fault.method.lower() == method.lower() and fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def changed(self) -> None:
        """Tell whoever waits for a change (tests, a page) to look again."""
        self.version += 1
        self.signal.notify()
