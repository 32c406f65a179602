"""PURE: finished results → Slack messages (summary text + Block Kit).

Mobile first: the summary line comes first and is also the notification text; short
label/value fields; no wide tables. Every piece of MDE or user text is escaped, every indicator
defanged, and every block is within Slack's limits (`kit`).
"""

from bot.render.kit import Message
from bot.render.messages import (
    busy_message,
    check_message,
    error_message,
    help_message,
    nothing_to_look_up_message,
    private_file_message,
    progress_message,
    refusal_message,
)
from bot.render.report import (
    device_details_message,
    report_message,
    summary_line,
    summary_message,
)

__all__ = [
    "Message",
    "busy_message",
    "check_message",
    "device_details_message",
    "error_message",
    "help_message",
    "nothing_to_look_up_message",
    "private_file_message",
    "progress_message",
    "refusal_message",
    "report_message",
    "summary_line",
    "summary_message",
]
