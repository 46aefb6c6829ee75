"""MemoryDeduplicator: each update id is claimed once, memory stays bounded."""

from __future__ import annotations

from bot.webhook.dedup import MemoryDeduplicator


async def test_an_id_is_claimed_once_until_released() -> None:
    seen = MemoryDeduplicator()
    assert await seen.claim(1)
    assert not await seen.claim(1)
    await seen.release(1)
    assert await seen.claim(1)


async def test_only_the_most_recent_ids_are_remembered() -> None:
    seen = MemoryDeduplicator(capacity=3)
    for update_id in (1, 2, 3, 4):
        assert await seen.claim(update_id)
    assert len(seen) == 3
    assert await seen.claim(1)  # the oldest was forgotten
    assert not await seen.claim(4)
