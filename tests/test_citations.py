"""Pure functions over answer and passage text: markers, sentences, quotes, abstentions."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from citeqa.answer.citations import (
    best_quote,
    lexical_scores,
    looks_abstained,
    parse_markers,
    remove_markers,
    strip_invalid,
)
from citeqa.answer.prompt import NOT_IN_DOCS
from citeqa.core.sentences import sentence_spans, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Paris is the capital [1].", [1]),
        ("It has 12 layers [2, 3].", [2, 3]),
        ("It has 12 layers [1][2].", [1, 2]),
        ("Both [3] and [1], again [3].", [3, 1]),
        ("See [2-4].", [2, 3, 4]),
        ("See [1; 2] and [ 5 ].", [1, 2, 5]),
        ("No markers here, only [a] and [].", []),
        ("", []),
    ],
)
def test_parse_markers(text: str, expected: list[int]) -> None:
    assert parse_markers(text) == expected


def test_strip_invalid_removes_markers_out_of_range() -> None:
    text, removed = strip_invalid("Paris is big [1][9]. It is old [2, 7]. Bad [0]. Fine [3].", 3)
    assert text == "Paris is big [1]. It is old [2]. Bad. Fine [3]."
    assert removed == 3


def test_strip_invalid_keeps_valid_text_untouched() -> None:
    text = "A [1]. B [1, 2]. C [2][1]."
    assert strip_invalid(text, 2) == (text, 0)
    assert strip_invalid("Nothing cited.", 0) == ("Nothing cited.", 0)
    assert strip_invalid("All wrong [1].", 0) == ("All wrong.", 1)


def test_remove_markers() -> None:
    assert remove_markers("It has 12 layers [1][2], mostly [3].") == "It has 12 layers, mostly."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three?", ["One.", "Two!", "Three?"]),
        ("Models, e.g. BERT, work. Yes.", ["Models, e.g. BERT, work.", "Yes."]),
        ("Accuracy was 3.14 percent. Then it fell.", ["Accuracy was 3.14 percent.", "Then it fell."]),
        ("As Fig. 3 shows, it works. Good.", ["As Fig. 3 shows, it works.", "Good."]),
        ("Smith et al. Showed it. Done.", ["Smith et al. Showed it.", "Done."]),
        (
            "It has 12 layers [1]. It has 110M parameters [2].",
            ["It has 12 layers [1].", "It has 110M parameters [2]."],
        ),
        ("It has 12 layers. [1] It is big. [2]", ["It has 12 layers. [1]", "It is big. [2]"]),
        ("Intro:\n- first item\n- second item", ["Intro:", "first item", "second item"]),
        # a bullet, and a scanner's specks before and after a sentence, are not quoted
        ("• Fast.\n¢ We introduce WizardMath.\n\nIt trains PPO. ‘ — ~", ["Fast.", "We introduce WizardMath.", "It trains PPO."]),
        ("It is -5 degrees - or less.", ["It is -5 degrees - or less."]),
        # an end inside brackets that close just after it is none: "(d. 1560)", "(Alg. 1)", OCR's "[[16!"
        ("Plancha (d. 1560) wrote it. Then more.", ["Plancha (d. 1560) wrote it.", "Then more."]),
        ("We train a model (PRM) [[16! 36-41], the former is small. Next.", ["We train a model (PRM) [[16! 36-41], the former is small.", "Next."]),
        ("An open ( bracket never closes. Second one here.", ["An open ( bracket never closes.", "Second one here."]),
        ("Para one.\n\nPara two", ["Para one.", "Para two"]),
        ("1. First. 2. Second.", ["1. First.", "2. Second."]),
        ("A line broken\nmid sentence. Next.", ["A line broken\nmid sentence.", "Next."]),
        ("   ", []),
        ("No terminal punctuation", ["No terminal punctuation"]),
        ("Dr. Ingrid Valtonen leads it. Since 2016.", ["Dr. Ingrid Valtonen leads it.", "Since 2016."]),
        ("It is differentiable w.r.t. parameters. Next.", ["It is differentiable w.r.t. parameters.", "Next."]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_hard_wrapped_pdf_text_keeps_sentences_and_splits_headings() -> None:
    # As citeqa.ingest.loaders extracts a PDF page: full-width lines wrap sentences, short ones end them.
    text = (
        "Published as a conference paper at ICLR 2015\n"
        "Good default settings for the tested machine learning problems are a = 0.001,\n"
        "b1 = 0.9, b2 = 0.999 and eps = 10-8. All operations on vectors are element-wise.\n"
        "2 ALGORITHM\n"
        "See algorithm 1 for pseudo-code of our proposed algorithm Adam. Let f be a noisy objec-\n"
        "tive function: a stochastic scalar function that is differentiable w.r.t. its parameters."
    )
    assert split_sentences(text) == [
        "Published as a conference paper at ICLR 2015",
        "Good default settings for the tested machine learning problems are a = 0.001,\n"
        "b1 = 0.9, b2 = 0.999 and eps = 10-8.",
        "All operations on vectors are element-wise.",
        "2 ALGORITHM",
        "See algorithm 1 for pseudo-code of our proposed algorithm Adam.",
        "Let f be a noisy objec-\ntive function: a stochastic scalar function that is differentiable w.r.t. its parameters.",
    ]


def test_sentence_spans_are_exact_offsets() -> None:
    text = "  First one [1].\nSecond, e.g. this one?  Third!\n\n- item "
    for s, e in sentence_spans(text):
        assert text[s:e] == text[s:e].strip() and text[s:e]


def test_lexical_scores() -> None:
    scores = lexical_scores(
        "BERT has 12 layers [1].", ["The model has 12 layers.", "BERT-base has 12 layers.", "Cats."]
    )
    assert scores[1] == 1.0 and 0 < scores[0] < 1 and scores[2] == 0.0
    assert lexical_scores("the of and", ["the of and"]) == [0.0]
    assert lexical_scores("anything", []) == []


PASSAGES = [
    "BERT-base has 12 transformer layers and 110 million parameters. It was pre-trained on BooksCorpus "
    "and English Wikipedia (2.5B words). Fine-tuning takes about an hour on one GPU.",
    "The survey ran from March to June 2021.\nIt collected 1,204 responses, e.g. from nurses.\n\n"
    "- Most respondents worked in healthcare.\n- Response rate: 31.5 %.",
    "   Leading spaces and   odd    spacing.   Also a second sentence without end",
    "",
]
CLAIMS = [
    "BERT-base has 12 layers.",
    "It was trained on Wikipedia.",
    "The survey got 1,204 responses.",
    "Most respondents worked in healthcare.",
    "Unrelated claim about volcanoes.",
    "",
]


@pytest.mark.parametrize("passage", PASSAGES)
@pytest.mark.parametrize("claim", CLAIMS)
def test_best_quote_is_verbatim(claim: str, passage: str) -> None:
    quote = best_quote(claim, passage, lexical_scores)
    assert quote in passage
    assert quote == quote.strip()
    assert bool(quote) == bool(passage.strip())


def test_best_quote_picks_the_supporting_sentence() -> None:
    assert best_quote("It was pre-trained on BooksCorpus.", PASSAGES[0], lexical_scores) == (
        "It was pre-trained on BooksCorpus and English Wikipedia (2.5B words)."
    )
    assert (
        best_quote("What was the response rate?  31.5 %", PASSAGES[1], lexical_scores)
        == "Response rate: 31.5 %."  # the list item, without its bullet
    )


def test_best_quote_uses_the_injected_scorer() -> None:
    seen: list[Sequence[str]] = []

    def prefer_last(claim: str, candidates: Sequence[str]) -> list[float]:
        seen.append(list(candidates))
        return [float(i == 2) for i in range(len(candidates))]  # the third single sentence

    quote = best_quote("anything", PASSAGES[0], prefer_last)
    assert quote == "Fine-tuning takes about an hour on one GPU."
    assert seen and all(c in PASSAGES[0] for c in seen[0])


def test_best_quote_takes_two_sentences_only_when_clearly_better() -> None:
    passage = "BERT is a transformer. It has 12 layers. It was released in 2018."
    assert best_quote("It has 12 layers", passage, lexical_scores) == "It has 12 layers."
    assert best_quote("BERT, a transformer, has 12 layers", passage, lexical_scores) == (
        "BERT is a transformer. It has 12 layers."
    )


@pytest.mark.parametrize(
    "text",
    [
        NOT_IN_DOCS,
        NOT_IN_DOCS.lower(),
        f'"{NOT_IN_DOCS}"',
        f"{NOT_IN_DOCS} [1]",
        "The passages do not contain information about the author.",
        "I'm sorry, but the provided context does not mention the release date.",
        "The documents don't say who wrote it.",
        "The author is not mentioned.",
        "The price is not specified in the passages.",
        "There is no information about the budget in the context.",
        "I cannot find the answer in the documents.",
        "I could not find that.",
        "I don't know.",
        "I do not know the answer.",
        "There is not enough information to answer.",
        "Unfortunately, the context does not provide the answer. It only covers sales.",
    ],
)
def test_looks_abstained(text: str) -> None:
    assert looks_abstained(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Paris is the capital of France [1].",
        "The alloy does not contain lead [2].",
        "The alloy does not contain lead.",
        "BERT has 12 layers [1]. The passages do not mention its cost.",
        "The gradient cannot be determined analytically [3].",
        "Power is not provided by the battery but by the grid.",
    ],
)
def test_does_not_look_abstained(text: str) -> None:
    assert not looks_abstained(text)


def test_numbers_in() -> None:
    from citeqa.answer.citations import numbers_in

    assert numbers_in("It got 1,204 responses in 2021 [3].") == {"1204", "2021"}
    assert numbers_in("2. The tower is 330 m tall.") == {"330"}
