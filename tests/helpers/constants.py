"""Values every suite uses, written once. All made up: no real token or secret is in a test."""

from __future__ import annotations

from bot.settings import PROJECT_NAME

# A well-formed token for tests that never talk to a Bot API (the emulator tests use the
# `token` fixture, a fresh bot per test).
TOKEN = "123456789:AAH-secret_part_of_the_token"
TOKEN_SECRET_PART = TOKEN.split(":", 1)[1]
# The webhook secret of every webhook test (40 characters, as doctor recommends >= 32).
SECRET = "test-secret_" + "x" * 28
# The shipped deploy files' names, the project's (pyproject.toml): the systemd service (its
# folders, its nginx log), and the same name without hyphens (its system user, nginx's names).
SERVICE = PROJECT_NAME
SERVICE_ID = PROJECT_NAME.replace("-", "")
# The HANDLERS_MODULE of the runtime's tests: the handlers every project keeps and a
# conversation of the tests' own, never the project's feature handlers (it may have none).
CONVERSATION_HANDLERS = "tests.fixtures.conversation_handlers"
# The webhook path of the deploy tests (not the default, so the nginx site must be rendered).
DEPLOY_WEBHOOK_PATH = "/tg/hook-test"
# The webhook settings a polling environment needs to become a production one.
WEBHOOK = {
    "BOT_MODE": "webhook",
    "WEBHOOK_BASE_URL": "https://bot.example.com",
    "WEBHOOK_SECRET": SECRET,
}
