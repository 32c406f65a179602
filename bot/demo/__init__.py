"""The demo kit: the embedded MDE simulator (`simulator`), the local Slack stand-in
(`standin`) and the scripted incident `mde-bot demo` plays (`play`).

A product feature, but apart from the product: production code reaches it only through
`bot.runtime.open_backend`, which imports `bot.demo.backend` when no MDE connector is
configured. A bot serving real tenants never loads it (tests/test_layout.py proves it).
"""
