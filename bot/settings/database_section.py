"""The database section: where the bot keeps what it remembers (users, chats, your models).

SQLite in a file of the project (`data/bot.sqlite3`) needs nothing installed, which suits
development and a one-worker server; PostgreSQL serves several workers and hosts. SQLite is
refused where more than one process would write it (several gunicorn workers; REDIS_URL in
production, which means several hosts): a file has one writer at a time, and a file on each
host is not one database.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr, field_validator

from bot.settings import rules
from bot.settings.fields import PROJECT_ROOT, Section, setting

SQLITE_SCHEME = "sqlite+aiosqlite"
POSTGRESQL_SCHEME = "postgresql+asyncpg"
# A folder of the project that git ignores (`.gitignore`): the database lives with the bot.
DEFAULT_DATABASE_FILE = Path("data") / "bot.sqlite3"
POSTGRESQL_EXAMPLE = f"{POSTGRESQL_SCHEME}://bot:PASSWORD@127.0.0.1:5432/bot"


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the SQLite file at `path` (relative: to the project root)."""
    absolute = path if path.is_absolute() else PROJECT_ROOT / path
    return f"{SQLITE_SCHEME}:///{absolute.as_posix()}"


def default_database_url() -> SecretStr:
    """The SQLite file `data/bot.sqlite3` of the project."""
    return SecretStr(sqlite_url(DEFAULT_DATABASE_FILE))


class DatabaseSettings(Section):
    """Database: SQLite (development, one worker) or PostgreSQL (several workers or hosts)."""

    database_url: SecretStr = setting(
        factory=default_database_url,
        description="the bot's database: `sqlite+aiosqlite:///path` (relative: to the project "
        f"root) or `{POSTGRESQL_SCHEME}://user:password@host:5432/name` (password never shown)",
        shown_default=f"`{SQLITE_SCHEME}:///data/bot.sqlite3` (a file in the project)",
    )
    database_max_connections: int = setting(
        20,
        "PostgreSQL connections the bot opens at most on this host; each gunicorn worker's "
        "pool gets an equal share (at least 2)",
        examples=("production",),
        ge=1,
        le=10_000,
    )
    gunicorn_workers: int = setting(
        1,
        "worker processes serving the webhook: set by deploy/gunicorn.conf.py from "
        "WEB_CONCURRENCY for its workers and start-up steps, not by hand",
        examples=(),
        ge=1,
        le=1024,
    )

    @property
    def uses_sqlite(self) -> bool:
        """True when DATABASE_URL is an SQLite file."""
        return self.database_url.get_secret_value().startswith(SQLITE_SCHEME)

    @property
    def database_url_value(self) -> str:
        """DATABASE_URL itself (secret: show `masked_database_url` instead)."""
        return self.database_url.get_secret_value()

    @property
    def masked_database_url(self) -> str:
        """DATABASE_URL with its password as `***`: safe to log and print."""
        return rules.mask_url(self.database_url_value)

    @property
    def database_pool_size(self) -> int:
        """Connections one worker's pool keeps: its share of DATABASE_MAX_CONNECTIONS."""
        return max(2, self.database_max_connections // self.gunicorn_workers)

    def section_secrets(self) -> list[str]:
        """DATABASE_URL's password, as written in the URL and as sent."""
        values = super().section_secrets()
        password = urlsplit(self.database_url_value).password or ""
        return [*values, password, unquote(password)]

    def section_problems(self) -> list[tuple[str, str]]:
        """SQLite where several processes would write it: refused, with the fix."""
        problems = super().section_problems()
        if not self.uses_sqlite:
            return problems
        writers = []
        if self.gunicorn_workers > 1:
            writers.append(f"{self.gunicorn_workers} gunicorn workers (WEB_CONCURRENCY)")
        # In production REDIS_URL means hosts behind a load balancer, each with its own file;
        # in development it keeps one developer's conversations across restarts.
        if self.shares_state() and getattr(self, "app_env", "local") == "production":
            writers.append("several hosts sharing state (REDIS_URL is set in production)")
        if writers:
            problems.append(("DATABASE_URL", sqlite_shared(" and ".join(writers))))
        return problems

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        scheme, _, rest = url.partition("://")
        if scheme == SQLITE_SCHEME and rest.startswith("/") and rest != "/":
            return SecretStr(sqlite_url(Path(rest[1:])))  # `///data/x` is relative to the root
        if scheme == POSTGRESQL_SCHEME and urlsplit(url).hostname:
            return value
        raise ValueError(database_url_problem(url))


def database_url_problem(url: str) -> str:
    """Why DATABASE_URL is unusable (its password masked)."""
    return (
        f"DATABASE_URL={rules.mask_url(url)!r} is not valid: use "
        "sqlite+aiosqlite:///data/bot.sqlite3 (a file; relative to the project root) or "
        "postgresql+asyncpg://user:password@host:5432/name."
    )


def sqlite_shared(writers: str) -> str:
    """Why an SQLite DATABASE_URL is refused with several writers, and the fix."""
    return (
        f"DATABASE_URL is an SQLite file, but {writers} would write it at once: SQLite allows "
        "one writer on one machine, so it would lock or split the data. Use PostgreSQL "
        "(DATABASE_URL=postgresql+asyncpg://user:password@host:5432/name, see docs/database.md), "
        "or run one worker (WEB_CONCURRENCY=1) on one host."
    )
