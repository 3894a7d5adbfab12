"""/v1/models and /v1/chat/completions: citeqa as an OpenAI-compatible chat model.

The collection is the model. The last message is the question and the earlier user and assistant
messages are the conversation (follow-ups are rewritten into standalone questions); system
messages are ignored, since citeqa's own instructions keep answers to the documents.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from citeqa.core.errors import CiteqaError
from citeqa.core.settings import Settings
from citeqa.engine import Citeqa
from citeqa.server.answers import SHUTDOWN, AnswerJob, Event, FailedAfterShowing, Question, wait_for_answer
from citeqa.server.errors import ApiError, from_citeqa, unexpected
from citeqa.server.limits import check_messages, check_retrieval
from citeqa.server.schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    Model,
    ModelList,
)
from citeqa.server.streaming import completion_id, stream_events

router = APIRouter()


def engine_of(request: Request) -> Citeqa:
    return request.app.state.engine


def served(engine: Citeqa) -> list[str]:
    """The models this server offers: every collection of the data dir, the default one first
    (it is served even before anything is ingested into it)."""
    default = engine.settings.collection
    return [default, *(n for n in engine.collection_names() if n != default)]


def check_model(engine: Citeqa, name: str, param: str = "model") -> Citeqa:
    """The engine of the collection `name` names; OpenAI's 404 for a model that is none."""
    models = served(engine)
    if name not in models:
        raise ApiError(
            404,
            f"The model '{name}' does not exist: this server's models are its collections "
            f"({', '.join(models)}; GET /v1/models, or `citeqa collections create NAME`)",
            param=param,
            code="model_not_found",
        )
    return engine.collection(name)


def collection_of(engine: Citeqa, model: str | None, collection: str | None) -> Citeqa:
    """The engine of the collection a search or documents request names, as `model` (the chat
    API's word for it) or `collection`; the server's own when it names none. An unknown one is
    the same 404 model_not_found as a chat completion's."""
    if model is not None and collection is not None and model != collection:
        raise ApiError(
            400, f"model '{model}' and collection '{collection}' differ: give one of them", param="collection"
        )
    if model is None and collection is None:
        return engine
    return check_model(engine, model or collection or "", "model" if model is not None else "collection")


@router.get("/v1/models", response_model=ModelList)
async def list_models(request: Request) -> ModelList:
    return ModelList(data=[Model(id=name) for name in served(engine_of(request))])


@router.get("/v1/models/{model_id}", response_model=Model)
async def get_model(model_id: str, request: Request) -> Model:
    check_model(engine_of(request), model_id)
    return Model(id=model_id)


def question_of(body: ChatCompletionRequest, settings: Settings) -> Question:
    if body.n not in (None, 1):
        raise ApiError(400, "only n=1 is supported: citeqa gives one answer per question", param="n")
    texts = []
    for i, m in enumerate(body.messages):
        text = m.text()
        if text is None:
            raise ApiError(400, f"messages[{i}]: only text content is supported", param=f"messages.{i}.content")
        texts.append(text)
    check_messages(settings, texts)
    check_retrieval(settings, body.top_k, body.sources)
    if body.messages[-1].role != "user":
        raise ApiError(400, "the last message must be the user's question (role 'user')", param="messages")
    question = texts[-1].strip()
    if not question:
        raise ApiError(400, "the last user message is empty", param="messages")
    history = tuple(
        (m.role, t) for m, t in zip(body.messages[:-1], texts, strict=False) if m.role in ("user", "assistant") and t.strip()
    )
    return Question(
        question, history, top_k=body.top_k, mode=body.mode, sources=tuple(body.sources), temperature=body.temperature
    )


def _stopped(job: AnswerJob) -> ApiError:
    if job.stop_reason == SHUTDOWN:
        return ApiError(503, "the server is stopping; ask again once it is back", code="shutting_down")
    return ApiError(400, "the client closed the connection")  # nobody reads this one


async def _opening(job: AnswerJob) -> list[Event]:
    """Events up to the one that lets the response begin: a place in line, or the first piece.
    An error before then (a full line: 429) is raised, to be answered with its own status."""
    events: list[Event] = []
    try:
        while True:
            event = await job.next()
            assert event is not None
            if event.kind == "error":
                raise event.value
            if event.kind == "stopped":
                raise _stopped(job)
            events.append(event)
            if event.kind != "started":
                return events
    except BaseException:
        job.stop()
        raise


@router.post("/v1/chat/completions", response_model=ChatCompletion)
async def chat_completions(body: ChatCompletionRequest, request: Request):
    engine = check_model(engine_of(request), body.model)
    job = AnswerJob(engine, question_of(body, engine.settings), request.app.state.answers).start()
    if body.stream:
        opening = await _opening(job)
        return StreamingResponse(
            stream_events(job, opening, body.model),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    try:
        answer = await wait_for_answer(job, gone=request.is_disconnected)
    except FailedAfterShowing as failed:
        # The error's own status and message, and what the documents say, as a stream gives it.
        err = from_citeqa(failed.error) if isinstance(failed.error, CiteqaError) else unexpected(failed.error)
        err.extra = {"citeqa": {"shown": failed.shown}}
        raise err from None
    if answer is None:
        raise _stopped(job)
    return ChatCompletion(
        id=completion_id(),
        created=int(time.time()),
        model=body.model,
        choices=[Choice(message=AssistantMessage(content=answer.text))],
        citeqa=answer.to_dict(),
    )
