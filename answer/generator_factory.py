"""The one factory that picks the chat model the settings ask for.

Apart from `citeqa.answer.generator` (the seam every implementation imports), so that the
implementations and the seam do not import each other in a circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from citeqa.answer.generator import Generator
    from citeqa.core.settings import Settings


def make_generator(settings: Settings) -> Generator:
    """The generator the settings ask for: CITEQA_LLM_URL if set, else the local GGUF.

    Only the chosen implementation is imported: with a server, llama-cpp-python is never loaded."""
    if settings.llm_url:
        from citeqa.answer.remote import RemoteGenerator

        return RemoteGenerator.from_settings(settings)
    from citeqa.answer.llm import LocalGenerator

    return LocalGenerator.from_settings(settings)
