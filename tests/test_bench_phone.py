"""Section 9 of the benchmarks (phone), the parts that need no Chromium: its inputs, the
messages it draws, and how it reads verdict lines off a message and off a phone's first screen."""

from __future__ import annotations

from collections import Counter

from bench.phone import indicators_named, left_out_by_show_all, on_first_screen, verdict_lines
from bench.phone_cards import FAILING_TENANT, TEN_INDICATORS, TEN_TEXT, TITLES, payloads
from bot.indicators import IndicatorType, extract
from tests.blockkit import assert_valid_blocks


def test_the_ten_indicator_paste_reads_as_ten_indicators_of_every_kind() -> None:
    found = extract(TEN_TEXT).indicators
    assert TEN_INDICATORS == 10
    assert len(found) == TEN_INDICATORS
    assert Counter(i.type for i in found) == {
        IndicatorType.IPV4: 3,
        IndicatorType.SHA256: 1,
        IndicatorType.MD5: 1,
        IndicatorType.SHA1: 1,
        IndicatorType.FILENAME: 1,
        IndicatorType.URL: 1,
        IndicatorType.HOSTNAME: 1,
        IndicatorType.DOMAIN: 1,
    }
    assert "10[.]1[.]2[.]3" in TEN_TEXT
    assert "hxxps://payroll-sync-update[.]com/" in TEN_TEXT


async def test_the_section_draws_valid_block_kit_that_says_what_it_should() -> None:
    messages = await payloads()
    assert list(messages) == list(TITLES)
    for message in messages.values():
        assert message["text"]
        assert_valid_blocks(message["blocks"])
    # a verdict for each indicator (indicators MDE says the same of share a line)
    assert indicators_named(verdict_lines(messages["ten-mixed"])) == TEN_INDICATORS
    # the problems block under the headline is not a verdict
    failure = messages["tenant-failure"]
    assert FAILING_TENANT in failure["text"]
    assert [line.split(" → ")[0] for line in verdict_lines(failure)] == ["`10[.]1[.]2[.]3`"]
    assert FAILING_TENANT in messages["test-connection"]["text"]
    assert left_out_by_show_all(messages["ten-mixed"], messages["ten-mixed-show-all"]) == []


def test_show_all_that_drops_a_verdict_is_caught() -> None:
    collapsed = {
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*headline*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "`a` → seen\n`b` → not seen"}},
        ]
    }
    expanded = {
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*headline*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "`a` → seen"}},
        ]
    }
    assert left_out_by_show_all(collapsed, expanded) == ["`b` → not seen"]


def test_a_verdict_line_is_on_the_first_screen_only_when_all_of_it_is() -> None:
    lines = [
        "`10[.]1[.]2[.]3` → ws-fin-042 · seen 2 d ago · 🔴 3 alerts",
        "`payroll_sync.exe` → *HackTool:Win32/Mimikatz* · 🔴 3 alerts",
        "`6dd6bce9…` → not seen in contoso, fabrikam",
    ]
    # what Chromium reads off the page: no mrkdwn marks; the last line cut at the fold
    figures = {
        "first_screen_text": "🔴 2 High alerts\n10[.]1[.]2[.]3 → ws-fin-042 · seen 2 d ago · "
        "🔴 3 alerts\npayroll_sync.exe → HackTool:Win32/Mimikatz · 🔴 3 alerts\n"
        "6dd6bce9… → not seen in"
    }
    assert on_first_screen(lines, figures) == lines[:2]
