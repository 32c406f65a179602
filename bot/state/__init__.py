"""State several replicas share: on Redis when REDIS_URL is set, in the process otherwise
(docs/replicas.md). Each kind is a small Protocol with two implementations, in-process (what a
single instance has always done) and Redis (one well-known Redis primitive each, every key
with a TTL), and `shared.open_state` picks them.

    from bot.state.settings import load_state_settings
    from bot.state.shared import open_state

    async with open_state(load_state_settings()) as state:
        seen = state.dedupe("deliveries")
        if await seen.first(event_id): ...

Modules (importing this package imports none of them):
- `dedupe`: `Dedupe.first(*keys)`, delivery dedupe (SET NX PX)
- `store`: `KeyValue.put/get` and the `Codec` that writes values as versioned JSON (SET PX)
- `cache`: `AnswerCache.get_or_load`, MDE answers as bytes, loads merged in the process (GET/SET)
- `window`: `RateWindow.take/wait`, MDE's call budget across replicas (one Lua script on
  sorted sets, Redis's clock)
- `lease`: `Leases.acquire/renew/release`, one holder per name (SET NX PX, Lua token checks)
- `link`: the Redis client, its timeouts, and outage detection (`redis_down`, `redis_back`)
- `settings`: REDIS_URL, REDIS_PREFIX, BOT_REPLICAS
- `shared`: `open_state` and `State`, which builds the stores

Redis unavailable: every kind keeps working on its in-process fallback, as each module's
docstring says. Action requests and approvals are not here: they must be durable, and live in
the database beside the audit trail (`bot.actions.store`).
"""
