"""Every call the bot makes to the Bot API.

- `api_errors.py`: which failures mean "unreachable", and the messages for the others;
- `retry.py`: `call_with_retry()`, the one retry of Bot API calls (429, network);
- `flood.py`: flood control's budgets (GCRA), the bulk lane; `flood_session.py`: the session
  middleware that makes every message wait for its slot and sends a 429 again.
"""
