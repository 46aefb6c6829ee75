"""The bot's runtime: configuration, factories, polling and webhook runners, CLI."""

# The template's version (pyproject.toml reads it; /metrics shows it in telegram_bot_build_info).
__version__ = "0.1.0"
