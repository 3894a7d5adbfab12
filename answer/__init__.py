"""Answering: the chat model, the prompt, and citations checked against the passages."""

from answer.answerer import Answerer, AnswerStream
from answer.citations import (
    best_quote,
    lexical_scores,
    looks_abstained,
    parse_markers,
    remove_markers,
    split_sentences,
    strip_invalid,
)
from answer.llm import Generator, llama2_prompt
from answer.prompt import NOT_IN_DOCS, SYSTEM_PROMPT, build_prompt, format_context

__all__ = [
    "NOT_IN_DOCS",
    "SYSTEM_PROMPT",
    "AnswerStream",
    "Answerer",
    "Generator",
    "best_quote",
    "build_prompt",
    "format_context",
    "lexical_scores",
    "llama2_prompt",
    "looks_abstained",
    "parse_markers",
    "remove_markers",
    "split_sentences",
    "strip_invalid",
]
