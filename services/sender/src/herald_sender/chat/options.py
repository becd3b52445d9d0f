"""`ChatOptions`: what the chat renderers take besides the delivery (from sender settings)."""

from __future__ import annotations

from dataclasses import dataclass

from herald_sender.summary.options import DEFAULT_DASHBOARD_URL, SummaryOptions

__all__ = ["DEFAULT_DASHBOARD_URL", "ChatOptions"]


@dataclass(frozen=True)
class ChatOptions(SummaryOptions):
    """The summary's options (`SummaryOptions`: links, how many facts), and the chat services'.

    Attributes:
        product_name: the sender's name where a service shows one (Hipchat `from`, Discord
            footer, Flowdock author).
    """

    product_name: str = "Herald"
