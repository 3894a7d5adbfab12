"""A chat completion streamed as server-sent events, in OpenAI's chunk format.

    data: {"object": "chat.completion.chunk", "choices": [{"delta": {"role": "assistant", "content": ""}}], ...}
    data: {... "choices": [{"delta": {"content": "The lake is 47 metres deep [1]."}}]}
    data: {... "choices": [{"delta": {}, "finish_reason": "stop"}], "citeqa": {"citations": [...], ...}}
    data: [DONE]

An error after the stream has begun is sent as `data: {"error": {...}}`, which OpenAI's clients
raise as an APIError. While the question waits for the chat model, a comment line is sent now and
then, so that proxies do not take the quiet connection for a dead one.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterable

from citeqa.core.errors import CiteqaError
from citeqa.server.answers import AnswerJob, Event
from citeqa.server.errors import error_body, from_citeqa, unexpected
from citeqa.server.schemas import ChatCompletionChunk, ChunkChoice, Delta

KEEPALIVE_S = 10.0


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def sse(data: dict | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


class ChunkWriter:
    def __init__(self, model: str) -> None:
        self.id = completion_id()
        self.created = int(time.time())
        self.model = model

    def chunk(self, delta: Delta, *, finish: bool = False, citeqa: dict | None = None) -> str:
        c = ChatCompletionChunk(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[ChunkChoice(delta=delta, finish_reason="stop" if finish else None)],
            citeqa=citeqa,
        )
        data = c.model_dump(exclude={"citeqa"} if citeqa is None else set())
        data["choices"][0]["delta"] = delta.model_dump(exclude_none=True)  # as OpenAI sends it
        return sse(data)


async def stream_events(job: AnswerJob, opening: Iterable[Event], model: str) -> AsyncIterator[str]:
    """The SSE body for `job`, starting with the events already read (`opening`). Closing this
    generator (the client went away) stops the job."""
    out = ChunkWriter(model)
    try:
        yield out.chunk(Delta(role="assistant", content=""))
        pending = list(opening)
        while True:
            event = pending.pop(0) if pending else await job.next(timeout=KEEPALIVE_S)
            if event is None or event.kind in ("queued", "started"):
                if event is None:
                    yield ": waiting for the chat model\n\n"
                continue
            if event.kind == "piece":
                yield out.chunk(Delta(content=event.value))
            elif event.kind == "done":
                yield out.chunk(Delta(), finish=True, citeqa=event.value.to_dict())
                yield sse("[DONE]")
                return
            elif event.kind == "stopped":
                return
            else:  # error
                exc = event.value
                err = from_citeqa(exc) if isinstance(exc, CiteqaError) else unexpected(exc)
                yield sse(error_body(err.status, err.message, code=err.code))
                return
    finally:
        job.stop()
