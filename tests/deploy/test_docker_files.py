"""The Dockerfile and the compose file (a project with the `docker` option only: copier excludes
this file without it). Docker does not run on the test machines: they are checked by reading
them (non-root user, the production command, the env files, the dev profile)."""

from __future__ import annotations

import tomllib

from tests.helpers.constants import SERVICE_ID
from tests.helpers.processes import ROOT
from tests.helpers.stack import DEPLOY


def test_dockerfile_runs_gunicorn_as_a_non_root_user() -> None:
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    oldest = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f"FROM python:{oldest.removeprefix('>=')}-slim" in lines
    locked = lines.index("RUN pip install -r requirements/prod.txt")
    assert locked < lines.index("RUN pip install --no-deps .")
    user = [line for line in lines if line.startswith("USER ")]
    assert user == ["USER $APP_USER"] and f"ARG APP_USER={SERVICE_ID}" in lines  # the project's
    assert lines.index(user[0]) < next(i for i, x in enumerate(lines) if x.startswith("CMD"))
    assert lines[-1] == (
        'CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "bot.webhook.app:gunicorn_app"]'
    )
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ".env.*" in ignored and ".env" in ignored
    copied = [line.split()[1] for line in lines if line.startswith("COPY ")]
    assert "sandbox" not in copied and "tests" not in copied  # development tools only


def test_compose_trusts_only_its_own_network_gateway_and_publishes_on_loopback() -> None:
    import yaml

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    bot = compose["services"]["bot"]
    # What runs beside the bot (its shared state) is on its network only, never published.
    beside = [s for name, s in compose["services"].items() if name not in ("bot", "bot-dev")]
    network = compose["networks"]["bot"]["ipam"]["config"][0]
    gateway = network["gateway"]

    # Not every Docker bridge (172.16.0.0/12): any container there could forge its address.
    assert (
        bot["environment"]["TRUSTED_PROXIES"] == gateway == "${BOT_NETWORK_GATEWAY:-172.31.240.1}"
    )
    assert network["subnet"] == "${BOT_NETWORK_SUBNET:-172.31.240.0/24}"
    assert bot["networks"] == ["bot"] and all(s["networks"] == ["bot"] for s in beside)
    assert bot["ports"] == ["127.0.0.1:8080:8080"] and not any("ports" in s for s in beside)
    assert bot["env_file"] == "../.env.production"
    assert compose["services"]["bot-dev"]["profiles"] == ["dev"]
