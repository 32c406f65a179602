"""`mde-bot demo` plays its whole incident offline and says what the bot answered."""

from __future__ import annotations

import io

from bot.demo.play import run_demo
from handlers import register


async def test_the_demo_runs_every_scene_and_exits_0() -> None:
    out = io.StringIO()
    assert await run_demo(register, out) == 0
    text = out.getvalue()
    for expected in (
        "/mde 10.1.2.3",
        "🔴 2 High alerts · ws-fin-042 · contoso",
        "🔴 ws-fin-042 · contoso · 2 High · 1 Low  [⋯]",
        "`d5621aab…` → HackTool:Win32/Mimikatz · 4 devices · 🔴 3 alerts",
        "↳ one threaded reply (thread_ts=1795860000.000100):",
        "replies to the first message: 1",
        "[Show all 14 alerts] clicked",
        "uploaded into the thread: 3 OCSF events (Detection Finding, Device Inventory Info)",
        "/mde ip 10.8.0.25 at 2h ago",
        "✅ All 2 MDE connections work",
        "[Approve] tapped by U0LEAD",
        "asked by <@U0RESPONDER> · approved by <@U0LEAD>",
        "✅ Succeeded",
        "🔒 isolated",
        "🛡️ Blocked and remediated in contoso (by ir-lead@contoso.com",
        "action_approved   U0LEAD",
        "intact: ",
    ):
        assert expected in text, expected
    assert "Traceback" not in text
