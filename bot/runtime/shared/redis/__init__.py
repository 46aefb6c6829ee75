"""The shared state on Redis (REDIS_URL), behind one facade.

`state.py` (`RedisState`) builds the parts from one `RedisConnection` (`connection.py`: the
client, how an outage is logged, the key prefix). The parts take the connection and never
import the facade:

- `record.py`: the update record (claims, done marks) and the conversation lock it takes;
- `fsm.py`: FSM storage and a bounded per-chat lock;
- `flood.py`: flood control's budget shared by every worker and host;
- `throttle.py`: incoming throttling's counts per user, one limit for every worker and host;
- `broadcast.py`: broadcast progress any worker or host resumes;
- `lease.py`: the polling lease, one poller across hosts;
- `checks.py`: the doctor's checks of Redis;
- `metrics.py`: each Redis command's latency and failures for /metrics.
"""
