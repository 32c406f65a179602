"""The audit trail: every lookup, refusal, response action and triage update the bot handles,
one append-only record each, hash-chained, in SQLite or PostgreSQL (docs/audit.md).

    from bot.audit.records import Actor, AuditKind, Detail, Place
    from bot.audit.store import AuditStore

    store = await AuditStore.open(load_audit_settings().database.get_secret_value())
    await store.append(AuditKind.ACTION_REQUESTED, actor=Actor(user_id, team_id),
                       place=Place(channel_id, thread_ts), tenants=["contoso"],
                       subject=device_id, details={Detail.ACTION: "Isolate",
                                                   Detail.REQUEST_ID: request_id})

Modules (the pure ones say so; importing this package imports none of them):
- `records` PURE: what a record is, its bounds, its canonical JSON and hash
- `chain` PURE: walking a chain and naming its first broken link
- `events` PURE: records as OCSF events; `export` PURE: JSON Lines, CSV, OCSF lines
- `store`: `AuditStore` (open and migrate, append, list, verify)
- `database`: the engine, write transactions and Alembic migrations, for any table set
- `schema`: the tables; `migrations/`: their Alembic history
- `settings`: where the trail is (AUDIT_DATABASE, DATABASE_URL)
"""
