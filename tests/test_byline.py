"""Questions about a paper's authors are answered by its byline (citeqa.answer.byline)."""

from __future__ import annotations

import pytest

from citeqa.answer.byline import asks_authors, byline

BN = (
    "arXiv:1502.03167v3  [cs.LG]  2 Mar 2015\nBatch Normalization: Accelerating Deep Network Training by\n"
    "Reducing Internal Covariate Shift\nSergey Ioffe\nGoogle Inc., sioffe@google.com\nChristian Szegedy\n"
    "Google Inc., szegedy@google.com\nAbstract\nTraining Deep Neural Networks is complicated by the fact"
)


def test_the_byline_runs_from_the_title_to_the_abstract() -> None:
    span = byline(BN)
    assert span is not None
    quote = BN[span[0] : span[1]]
    assert quote.startswith("Batch Normalization") and quote.endswith("szegedy@google.com")
    assert "arXiv" not in quote and "Abstract" not in quote
    assert byline("A page of prose with no abstract and no sections.") is None
    long = "Title\n" + "\n".join(f"Author {i} University {i}" for i in range(200)) + "\nAbstract\nText"
    s = byline(long)
    assert s is not None and s[1] - s[0] <= 600 and long[s[1] - 1] != "\n"


@pytest.mark.parametrize(
    ("question", "previous", "expected"),
    [
        ("Who wrote the Adam paper?", "", True),
        ("Who are the authors of the batch normalization paper?", "", True),
        ("List the authors of the Adam paper", "", True),
        ("Which lab did the Fusion-in-Decoder authors work at?", "", True),
        ("What university is the first author from?", "", True),
        ("Which company were they at?", "Who are the authors of the batch normalization paper?", True),
        ("Which weight decay did the ResNet authors use with SGD?", "", False),
        ("Which company were they at?", "What weight decay did they use?", False),
        ("Who invented the LSTM?", "", False),
    ],
)
def test_which_questions_ask_about_authors(question: str, previous: str, expected: bool) -> None:
    assert asks_authors(question, previous) is expected
