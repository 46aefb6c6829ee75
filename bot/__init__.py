"""The bot's runtime: configuration, factories, polling and webhook runners, CLI."""
