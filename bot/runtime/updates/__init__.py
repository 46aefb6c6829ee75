"""The bookkeeping of incoming updates, the same in polling and webhook mode.

- `dedup.py`: which update ids are being handled or were handled (a redelivery is never
  handled twice), and the conversation an update belongs to;
- `redelivery.py`: an update that failed for a reason outside its handler asks to come again;
- `unreadable.py`: an update aiogram cannot validate is skipped loudly, not retried forever;
- `inline_filters.py`: aiogram's pure sync filters run inline instead of in a thread.
"""
