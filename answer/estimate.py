"""Token counts for a chat model whose tokenizer citeqa cannot run: a safe over-estimate.

Used for a remote chat model when its server has no tokenize endpoint (Ollama, OpenAI-style
services). Safe means never fewer tokens than a BPE or SentencePiece chat tokenizer gives, so a
prompt sized with it always fits the context; the price is fewer passages than would fit.

- a run of ASCII letters: one token per 3 letters, rounded up (English averages 4-5 letters a
  token; rare names split into pieces of 3 or more);
- every digit and every other ASCII symbol: one token (Llama and SmolLM tokenizers split numbers
  into single digits, and most punctuation is a token of its own);
- every whitespace character: one token, except one space before a word, which joins it;
- every other character: one token per UTF-8 byte (byte-fallback tokenizers' worst case, e.g.
  CJK text in Llama 2).

Checked against the bundled SmolLM2 tokenizer on every page of the sample documents and the
evaluation corpus (papers with tables, Wikipedia articles; tests/test_remote.py): never below it,
1.2 to 1.8 times it, 1.5 at the median.
"""

from __future__ import annotations

import re

from citeqa.answer.generator import ChatPrompt

_PIECE = re.compile(r" ?[A-Za-z]+|[ \t\r\n\f\v]+|[\x00-\x7f]|[^\x00-\x7f]")

# Chat templates wrap each message in role markers: 4-6 tokens in ChatML, Llama 3 and Gemma, up to
# 12 for Llama 2's "[INST] <<SYS>> ... <</SYS>> [/INST]". Templates may also add a preamble (Llama 3.1
# writes dates into the system turn, ~25 tokens) and open the assistant's turn.
MESSAGE_OVERHEAD = 16
PROMPT_OVERHEAD = 48


def estimate_tokens(text: str) -> int:
    n = 0
    for m in _PIECE.finditer(text):
        piece = m.group(0)
        c = piece[-1]
        if c.isascii() and c.isalpha():
            n += -(-len(piece.lstrip(" ")) // 3)
        elif c.isspace():
            n += len(piece)
        elif c.isascii():
            n += 1
        else:
            n += len(piece.encode("utf-8"))
    return n


def chat_overhead(prompt: ChatPrompt) -> int:
    """Tokens a chat template adds around `prompt`'s messages (an upper bound, see above)."""
    return PROMPT_OVERHEAD + MESSAGE_OVERHEAD * (len(prompt.messages) + 1)
