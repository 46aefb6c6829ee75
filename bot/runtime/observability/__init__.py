"""What an operator sees of the running bot.

- `metrics.py`: the Prometheus metrics and the functions that record them;
  `metrics_server.py`: `GET /metrics` (the webhook's route, polling's own small server);
- `error_reports.py`: handler exceptions to Sentry (SENTRY_DSN), secrets scrubbed;
- `observers.py`: aiogram middlewares that count, time and report updates and Bot API calls
  (`call_outcomes.py`: how a call's outcome is labelled);
- `checks.py`: one line of the doctor's report, so that a part of the runtime checks itself.
"""
