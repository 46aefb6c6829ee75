"""`python -m bot` is the same program as `python run.py`."""

from bot.cli import main

raise SystemExit(main())
