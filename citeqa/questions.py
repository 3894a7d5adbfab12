"""Question files: JSON Lines read by `ask --questions`, `search --queries` and `eval`.

One object per line:

    {"id": "q1", "question": "When were the Normans in Normandy?",
     "answers": ["10th and 11th centuries"], "source": "normans.txt"}

Only `question` is required. `answers` lists acceptable answer strings (empty or absent: the
documents do not answer it); `answerable` may say so explicitly; `source` names the file that
answers it (compared by file name, so the folder does not matter); `page` the page that does;
`kind` groups questions in `citeqa eval`'s report ("number", "followup", "table", ...); `prev` is
the id of the question this one follows in a conversation: it is asked with that one before it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from citeqa.core.errors import ConfigError


class Question(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = ""
    question: str = Field(min_length=1)
    answers: tuple[str, ...] = ()
    answerable: bool | None = None
    source: str | None = None
    page: int | None = None  # the page that answers it, where the source has pages
    kind: str = ""
    prev: str | None = None  # the id of the question it follows up

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, v: object) -> object:
        return "" if v is None else str(v) if isinstance(v, int | float) else v

    @field_validator("answers", mode="before")
    @classmethod
    def _one_answer(cls, v: object) -> object:
        return [v] if isinstance(v, str) else [] if v is None else v

    @field_validator("question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v

    @model_validator(mode="after")
    def _answerable(self) -> Question:
        if self.answerable is None:
            object.__setattr__(self, "answerable", bool(self.answers))
        elif self.answerable and not self.answers:
            raise ValueError("an answerable question needs at least one answer in 'answers'")
        return self


def read_questions(path: Path, *, limit: int | None = None) -> Iterator[Question]:
    """The questions of a JSONL file, in order; a bad line is a ConfigError naming FILE:LINE and field."""
    n = 0
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise ConfigError(f"{where}: expected an object with a string field 'question'")
            obj.setdefault("id", str(lineno))
            try:
                q = Question.model_validate(obj)
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(str(x) for x in err["loc"]) or "line"
                raise ConfigError(f"{where}: field {field!r}: {err['msg']}") from None
            yield q
            n += 1
            if limit is not None and n >= limit:
                return
    if n == 0:
        raise ConfigError(f"{path}: no questions")
