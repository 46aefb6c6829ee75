"""The one entrypoint: `python run.py` runs the bot; `python run.py --help` lists the commands."""

from bot.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
