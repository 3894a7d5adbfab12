"""Request and response bodies of the HTTP API, as pydantic models.

The chat completion shapes follow OpenAI's, so that its clients (the `openai` package, LangChain's
ChatOpenAI, curl scripts written for OpenAI) work unchanged; unknown OpenAI parameters (max_tokens,
top_p, user, ...) are accepted and ignored. citeqa adds `top_k`, `mode` and `sources` to the
request (the openai client sends them with `extra_body`) and a `citeqa` object to the reply.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from citeqa.core.settings import RetrievalMode

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Role
    content: str | list[ContentPart] | None = None

    def text(self) -> str | None:
        """The message's text; None when it has a part that is not text (an image, a file)."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        if any(p.type != "text" for p in self.content):
            return None
        return "".join(p.text or "" for p in self.content)


class RetrievalOptions(BaseModel):
    top_k: int | None = Field(None, ge=1, le=100, description="passages to retrieve (default CITEQA_TOP_K)")
    mode: RetrievalMode | None = Field(None, description="dense, bm25 or hybrid (default CITEQA_RETRIEVAL)")
    sources: list[str] = Field(default_factory=list, description="only sources matching these globs")


class ChatCompletionRequest(RetrievalOptions):
    model_config = ConfigDict(extra="allow")

    model: str = Field(description="the collection to answer from (GET /v1/models)")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    n: int | None = Field(None, ge=1)


class SearchRequest(RetrievalOptions):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, description="what to search for")
    model: str | None = Field(None, description="the collection to search (GET /v1/models); default: the server's own")
    collection: str | None = Field(None, description="the same as `model`")


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: None = None
    citeqa: dict[str, Any] = Field(
        description="the answer's evidence: citations (with quotes and pages), sources, sentences "
        "(with support flags), grounded, abstained, timings; the same as `citeqa ask --json`"
    )


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    citeqa: dict[str, Any] | None = None


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "citeqa"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]
