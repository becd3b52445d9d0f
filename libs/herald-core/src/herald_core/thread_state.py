"""The Slack sender's deploy thread state, as stored on `notify.state.slack-threads`.

One record per thread, keyed `<notifier id>|<thread key>` (services/sender threads.py says how
a thread is found and kept). The model lives here, with the other records Herald writes, so that
`herald_core.schemas` generates its JSON Schema and the AsyncAPI document from it.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict


class ThreadRef(BaseModel):
    """The Slack message a deploy thread lives in: its channel, its `ts`, whether it is open."""

    model_config = ConfigDict(frozen=True)

    channel: str
    ts: str
    open: bool = True
    updated_at: AwareDatetime
