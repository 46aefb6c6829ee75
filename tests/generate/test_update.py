"""`copier update`: a project generated from template v1 receives v2's change to the runtime and
its new deploy file, and v2's migration renames a setting in the project's env file, while the
user's own handler, test and env file are left as the user wrote them."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers.template import commit_all, copier, git, project_files, template_repo

OPTIONS = ["--data", "bot_name=Weather Bot", "--data", "docker=false"]
MIGRATION = """
_migrations:
  - version: v1.1.0
    when: "[[= _stage == 'before' =]]"
    command:
      - "[[= _copier_python =]]"
      - "[[= _copier_conf.src_path / '.copier' / 'migrations' / 'rename_env_key.py' =]]"
      - LOG_FILE
      - LOG_PATH
"""


def test_update_applies_the_template_change_and_keeps_the_users_handler_and_env_file(
    tmp_path: Path,
) -> None:
    template = template_repo(tmp_path / "template", tag="v1.0.0")
    project = tmp_path / "weather-bot"
    copier("copy", "--trust", "--defaults", *OPTIONS, str(template), str(project))
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "A new bot from the template")

    # The user's work: a handler changed, a test of their own, their (git-ignored) env file.
    handler = project / "handlers" / "start.py"
    users_handler = handler.read_text().replace('"Hello, {name}!', '"Good morning, {name}!')
    handler.write_text(users_handler)
    users_test = "async def test_weather() -> None:\n    assert True\n"
    (project / "tests" / "test_weather.py").write_text(users_test)
    (project / ".env.local").write_text("BOT_TOKEN=123:abc\nLOG_FILE=logs/bot.log\n")
    commit_all(project, "Good morning")

    # Template v1.1.0: a fix in bot/, a new deploy file, a migration for a renamed setting.
    exit_codes = template / "bot" / "exit_codes.py"
    fixed = exit_codes.read_text() + "# A fix of template v1.1.0.\n"
    exit_codes.write_text(fixed)
    (template / "deploy" / "logrotate.conf").write_text("# New in template v1.1.0.\n")
    copier_yml = template / "copier.yml"
    copier_yml.write_text(copier_yml.read_text() + MIGRATION)
    commit_all(template, "v1.1.0: a fix, a deploy file, a renamed setting", tag="v1.1.0")

    updated = copier("update", "--trust", "--defaults", cwd=project)

    assert (project / "bot" / "exit_codes.py").read_text() == fixed
    assert (project / "deploy" / "logrotate.conf").read_text() == "# New in template v1.1.0.\n"
    assert handler.read_text() == users_handler
    assert (project / "tests" / "test_weather.py").read_text() == users_test
    assert (project / ".env.local").read_text() == "BOT_TOKEN=123:abc\nLOG_PATH=logs/bot.log\n"
    assert ".env.local: LOG_FILE renamed to LOG_PATH" in updated.stdout
    files = project_files(project)
    assert not [name for name in files if name.endswith(".rej")]
    markers = [n for n, p in files.items() if "<<<<<<<" in p.read_text(errors="ignore")]
    assert not markers, f"conflict markers in {markers}"
    answers = yaml.safe_load(files[".copier-answers.yml"].read_text())
    assert answers["_commit"] == "v1.1.0" and answers["slug"] == "weather-bot"
    assert not answers["docker"] and not (project / "deploy" / "compose.yaml").exists()
