"""Alembic's environment for `python -m bot db ...`: migrations on the connection the runtime
opened (bot/database/migrations.py), in its transaction; batch mode on SQLite."""

from __future__ import annotations

from alembic import context

config = context.config
if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported: use `python -m bot db`.")
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=config.attributes.get("target_metadata"),
    # SQLite alters a table by copying it: Alembic's batch mode writes migrations that way.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
