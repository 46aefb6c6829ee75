"""MemoryDeduplicator: an update is new once, running while handled, done after; bounded."""

from __future__ import annotations

from bot.runtime.updates.dedup import Claim, MemoryDeduplicator


async def test_an_update_is_new_once_running_while_handled_and_done_after() -> None:
    record = MemoryDeduplicator()
    assert await record.claim(1) is Claim.NEW
    assert await record.claim(1) is Claim.RUNNING  # a redelivery meanwhile: 503, not 200
    await record.finish(1)
    assert await record.claim(1) is Claim.DONE


async def test_an_abandoned_claim_is_forgotten_so_the_redelivery_is_handled() -> None:
    record = MemoryDeduplicator()
    assert await record.claim(1) is Claim.NEW
    await record.release(1)
    assert await record.claim(1) is Claim.NEW


async def test_only_the_most_recent_done_ids_are_remembered() -> None:
    record = MemoryDeduplicator(capacity=3)
    for update_id in (1, 2, 3, 4):
        assert await record.claim(update_id) is Claim.NEW
        await record.finish(update_id)
    assert len(record) == 3
    assert await record.claim(1) is Claim.NEW  # the oldest was forgotten
    assert await record.claim(4) is Claim.DONE
