"""Tables and captions in what a question asks: a row is read with its caption and headers, a
caption labels and states no value, and a row whose label names the subject is its row."""

from __future__ import annotations

from citeqa.answer.asked import asked
from citeqa.answer.stated import answers


def test_a_table_row_states_the_asked_value_in_its_headers() -> None:
    q = asked("What is the top-1 error of VGG-16 on ImageNet?")
    assert answers(q, "VGG-16: top-1 err. 28.07 · top-5 err. 9.33")
    assert not answers(q, "VGG-16: # params 138M")


def test_a_figure_caption_is_a_label() -> None:
    from citeqa.answer.evidence_text import is_caption, is_label

    caption = "Training error (left) and test error (right) with 20-layer and 56-layer plain networks."
    assert is_caption(caption) and is_label(caption)
    assert not is_caption("The left branch is trained with 20 layers.")


def test_a_table_row_is_read_with_its_caption_and_headers() -> None:
    q = asked("What is the top-1 error of the 18-layer ResNet on ImageNet validation?")
    row = "18 layers: plain 27.94 · ResNet 27.88"
    caption = "Table 2. Top-1 error (%, 10-crop testing) on ImageNet validation.\n\n | plain | ResNet\n\n"
    assert answers(q, row, caption, row=True)
    assert not answers(q, row, "Table 5. Top-5 error (%) of ensembles.\n\n | plain | ResNet\n\n", row=True)
    # headers written with capitals name the measure as well
    top5 = asked("What top-5 error does Deep Image high-res reach?")
    assert answers(top5, "Deep Image high-res: Resolution 512 · Crops - · Models 1 · Top-1 error 24.88 · Top-5 error 7.42%")
    assert not answers(asked("What top-1 error does Deep Image reach?"), "Deep Image: Top-5 error 7.42%")


def test_a_caption_whose_number_was_split_off_is_still_a_caption() -> None:
    from citeqa.answer.evidence import _sentences

    text = "Table 2. Top-1 error (%, 10-crop testing) on ImageNet validation. Our net has 19.4% top-1 error."
    flags = {text[s.start : s.end]: s.caption for s in _sentences(text, 3)}
    assert flags["Top-1 error (%, 10-crop testing) on ImageNet validation."]
    assert not flags["Our net has 19.4% top-1 error."]


def test_a_row_naming_the_subject_is_its_row() -> None:
    from citeqa.answer.evidence import _row_of

    q = asked("What is the top-1 error of VGG-16 on ImageNet validation?")
    assert _row_of(q, "VGG-16 [41]: top-1 err. 28.07 · top-5 err. 9.33")
    assert not _row_of(q, "ResNet-152: top-1 err. 19.38 · top-5 err. 4.49")
    # (whether a line is a row at all is told by its passage's shape: evidence._sentences)
