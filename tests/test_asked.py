"""What a question asks (citeqa.answer.asked): pure functions over text, so plain inputs suffice."""

from __future__ import annotations

import pytest

from citeqa.answer.asked import Asked, answer_type, asked, focus, names
from citeqa.answer.names import Names, found_in
from citeqa.answer.stated import answers
from citeqa.core.types import Hit


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What learning rate does BERT use for fine-tuning?", ["BERT"]),
        ("What dropout rate did Fusion-in-Decoder use?", ["Fusion-in-Decoder"]),
        ("What top-5 error does ResNet-50 reach?", ["ResNet-50"]),
        ("How long is the warranty on the Kestrel K2 grinder?", ["Kestrel K2"]),
        ("How many languages does The Stack v2 span?", ["Stack v2"]),
        ("Which base model does WizardMath improve?", ["WizardMath"]),
        ("ResNet-152's depth?", ["ResNet-152"]),
        ("How deep was the deepest residual network they trained?", []),
        ("what is the maximum depth of the lake?", []),
    ],
)
def test_names_are_the_subjects_asked_about(question: str, expected: list[str]) -> None:
    assert [n.text for n in names(question)] == expected


@pytest.mark.parametrize(
    ("question", "kind", "what"),
    [
        ("What dropout rate did Fusion-in-Decoder use?", "quantity", {"dropout"}),
        ("What learning rate does BERT use for fine-tuning?", "quantity", {"learn"}),
        ("How many parameters does GPT-3 have?", "quantity", {"paramet"}),
        ("When was the BigCode project started?", "date", set()),
        ("In which year was the station founded?", "date", set()),
        ("Who chaired the steering meeting?", "person", set()),
        ("Which base model does WizardMath improve?", "other", set()),
        ("What rate did they use?", "quantity", set()),
    ],
)
def test_kind_of_answer_and_the_asked_thing(question: str, kind: str, what: set[str]) -> None:
    assert answer_type(question) == kind
    if kind == "quantity":
        # the asked thing's stems (and its first two words run together: "step size", "stepsize")
        assert what <= focus(question) and not (focus(question) - what) & {"rate", "use", "fine", "tune"}


def test_a_quantity_answer_states_a_number_about_the_asked_thing() -> None:
    q = asked("What dropout rate did Fusion-in-Decoder use?")
    assert answers(q, "We use a constant learning rate of 10−4 and a dropout rate of 10%.")
    # names the method, states no number: the complaint this module answers
    assert not answers(q, "We refer to this approach as Fusion-in-Decoder, a simple and effective model.")
    # a number, but about something else
    assert not answers(q, "We train the model for 10k gradient steps with a batch size of 64.")
    # a reference number is not a stated value
    assert not answers(q, "Dropout is used as in earlier work [12].")


def test_a_date_answer_states_a_date() -> None:
    q = asked("When was the BigCode project started?")
    assert answers(q, "BigCode started in September 2022 as an open scientific collaboration.")
    assert not answers(q, "BigCode is an open scientific collaboration working on code models.")


def _hit(source: str, index: int, text: str, page: int | None = None) -> Hit:
    return Hit(f"{source}-{index}", source, page, text, 0.0, index)


def test_the_subject_must_be_near_the_quote() -> None:
    q = asked("What learning rate does BERT use for fine-tuning?")
    # FiD mentions BERT in passing in chunk 3 (page 2); its own learning rate is in chunk 9 (page 4).
    found = Names({("bert",): {"fid.pdf": frozenset({(3, 2)})}})
    assert found.missing(q.names) is None
    lr = "We use a constant learning rate of 10−4."
    assert not found.about(q.names, _hit("fid.pdf", 9, lr, 4), lr)
    assert found.about(q.names, _hit("fid.pdf", 5, lr, 3), lr)  # two passages from one naming BERT
    plain = "A constant learning rate of 10−4 is used."
    assert found.about(q.names, _hit("fid.pdf", 9, plain, 2), plain)  # on the page that names it
    # but "We use ..." there reports the authors' own model, six passages from the one naming BERT
    assert not found.about(q.names, _hit("fid.pdf", 9, lr, 2), lr)
    assert found.about(q.names, _hit("fid.pdf", 9, "BERT is fine-tuned. " + lr, 4), lr)  # its passage names it
    assert Names({("bert",): {"x.pdf": frozenset({(7, 1)})}}).about(q.names, _hit("/docs/bert_paper.pdf", 20, lr), lr)
    assert Names({("bert",): {"b.pdf": frozenset({(0, 1)})}}).about(q.names, _hit("b.pdf", 20, lr, 9), lr)  # title


def test_a_name_spelled_another_way_is_the_same_subject() -> None:
    q = asked("How many FLOPs does ResNet-152 need?")
    rows = [_hit("r.pdf", 5, "the 152-layer ResNet (11.3 billion FLOPs) still has lower complexity", 7), _hit("r.pdf", 6, "ResNet-50", 7)]
    name = next(n for n in q.names if n.text == "ResNet-152")
    assert found_in(name, rows) == {"r.pdf": frozenset({(5, 7)})}
    assert Names().missing(q.names) in q.names  # nowhere in the index


@pytest.mark.parametrize(
    ("previous", "followup", "standalone", "kind"),
    [
        ("What top-5 error does ResNet-50 reach?", "And for ResNet-152?", "What top-5 error does ResNet-152 reach?", "quantity"),
        ("What top-5 error does ResNet-50 reach?", "What about ResNet-101?", "What top-5 error does ResNet-101 reach?", "quantity"),
        ("What was the maximum depth of Aurora Lake?", "And when was that measured?", None, "date"),
        ("What value of beta1 does Adam use by default?", "And epsilon?", None, "quantity"),
    ],
)
def test_followups_carry_what_they_ask_and_what_they_are_about(
    previous: str, followup: str, standalone: str | None, kind: str
) -> None:
    q = asked(followup, [("user", previous), ("assistant", "Quoted from your documents: [1] “It was 41 m.”")])
    assert q.followup and q.kind == kind
    if standalone:
        assert q.question == standalone
    else:
        assert previous in q.question and followup in q.question
    assert q.names == names(followup) or q.names == names(previous)


def test_a_followup_does_not_get_the_previous_answer_again() -> None:
    said = "Quoted from your documents:\n[1] “ResNet-50 reaches 5.25% top-5 error, and the deeper nets less.” (r.pdf, p. 7)"
    history = [("user", "What top-5 error does ResNet-50 reach?"), ("assistant", said)]
    q = asked("And for ResNet-152?", history)
    assert not _selectable(q, "ResNet-50 reaches 5.25% top-5 error, and the deeper nets less.")
    assert _selectable(q, "ResNet-152 reaches 4.49% top-5 error.")
    # a new kind of answer that the quoted sentence states: it is the answer
    said = "Quoted from your documents:\n[1] “The director is Dr. Ingrid Valtonen, who has led the station since 2016.” (a.pdf, p. 3)"
    q = asked("Since when?", [("user", "Who is the station director?"), ("assistant", said)])
    assert q.kind == "date" and _selectable(q, "The director is Dr. Ingrid Valtonen, who has led the station since 2016.")
    # a follow-up naming another value the same sentence gives
    said = "Quoted from your documents:\n[1] “Good default settings are α = 0.001, β1 = 0.9, β2 = 0.999 and ϵ = 10−8.” (adam.pdf, p. 2)"
    q = asked("And epsilon?", [("user", "What value of beta1 does Adam use by default?"), ("assistant", said)])
    assert _selectable(q, "Good default settings are α = 0.001, β1 = 0.9, β2 = 0.999 and ϵ = 10−8.")


def test_a_followup_naming_a_new_thing_keeps_the_asked_thing() -> None:
    q = asked("And on the burrs?", [("user", "How long is the warranty on the Kestrel K2 grinder?")])
    assert not answers(q, "Replace the burrs after about 500 kg of coffee.")
    assert answers(q, "The burrs have a warranty of 5 years.")


def test_a_date_is_a_year_a_month_or_a_day() -> None:
    q = asked("When was the survey made?")
    assert answers(q, "The sonar survey was made in 2023.") and answers(q, "It ran on 9 August.")
    assert not answers(q, "The survey mapped 8.6 square kilometres with 14 staff.")


def _selectable(q: Asked, sentence: str) -> bool:
    from citeqa.answer.repeats import repeats

    return answers(q, sentence) and not repeats(q, sentence)


def test_a_name_after_on_or_with_is_context() -> None:
    q = asked("What top-1 error does VGG-16 reach on ImageNet?")
    assert [(n.text, n.context) for n in q.names] == [("VGG-16", False), ("ImageNet", True)]
    q = asked("Which minibatch size was used when comparing Adam with SGD and Adagrad?")
    assert [(n.text, n.context) for n in q.names] == [("Adam", False), ("SGD", True), ("Adagrad", True)]
    # context: a mention anywhere in the document will do; the subject must be near the quote
    found = Names({("vgg", "16"): {"r.pdf": frozenset({(8, 4)})}, ("imagenet",): {"r.pdf": frozenset({(1, 1)})}})
    q = asked("What top-1 error does VGG-16 reach on ImageNet?")
    row = "VGG-16 reaches 28.07% top-1 error."
    assert found.about(q.names, _hit("r.pdf", 8, row, 4), row)
    other = "ResNet-34 reaches 21.84% top-1 error."
    assert not found.about(q.names, _hit("r.pdf", 20, other, 6), other)


def test_numbers_that_point_are_not_values() -> None:
    q = asked("What fraction of the training steps does batch normalization need?")
    assert not answers(q, "Figure 1(a) shows the fraction of correct predictions as training steps progress.")
    assert answers(q, "Batch normalization needs only 7% of the training steps to match it.")
    q = asked("How deep was the deepest network they trained?")
    assert not answers(q, "We show that: 1) deep residual nets are easy to optimize, and 2) they gain accuracy.")


def test_greek_letters_and_plural_acronyms() -> None:
    q = asked("What value of beta2 does Adam use by default?")
    assert answers(q, "Good default settings are α = 0.001, β1 = 0.9, β2 = 0.999 and ϵ = 10−8.")
    assert [n.text for n in names("What GPUs were the Fusion-in-Decoder models trained on?")] == ["Fusion-in-Decoder"]
    assert focus("How much did it cost in US dollars to train StarCoder2-15B?") == {"cost"}
    assert {"accuraci", "improv"} <= focus("How much does TriviaQA accuracy improve when FiD reads 100 passages?")
    assert "stepsiz" in focus("What step size does the Adam paper suggest as a good default?")


def test_a_number_in_a_name_is_not_a_value() -> None:
    q = asked("What top-5 error does the ensemble reach on the test set?")
    assert not answers(q, "The top-5 error is on the test set of ImageNet and reported by the test server.")
    assert answers(q, "This leads to 3.57% top-5 error on the test set.")


def test_what_about_a_thing_without_a_name() -> None:
    q = asked("What about the 34-layer one?", [("user", "What top-1 error does the 18-layer plain net reach?")])
    # the size is swapped in: the same question about the 34-layer net
    assert q.followup and q.kind == "quantity" and q.question == "What top-1 error does the 34-layer plain net reach?"
    assert "error" in q.focus
    q = asked("And the unnamed one?", [("user", "What top-1 error does the 18-layer plain net reach?")])
    assert q.followup and q.kind == "quantity" and {"unnam"} <= q.focus and "error" in q.also


def test_dates_in_words_and_when_clauses() -> None:
    q = asked("When were the Normans in Normandy?")
    assert q.kind == "date" and answers(q, "The Normans were in Normandy in the 10th and 11th centuries.")
    assert answers(asked("When was the Duchy of Normandy founded?"), "The duchy was founded in 911 by Rollo.")
    assert answer_type("When extensive time is required to sort integers, this represents what case complexity?") != "date"
    assert answer_type("In what unit is the size of the input measured?") == "other"
    assert answer_type("What components raise steam temperature above its saturated vapor point?") == "other"


def test_misspelt_names_are_found_as_written_in_the_passage() -> None:
    rows = [_hit("c.txt", 3, "Hartmanis and Stearns published their seminal paper in 1965.", None)]
    q = asked("In what year was Hatmanis and Stearn's seminal work received?")
    assert found_in(next(n for n in q.names if n.text == "Hatmanis"), rows)
    assert found_in(names("Which TEFU article applies?")[0], [_hit("e.txt", 1, "Article 30 TFEU prohibits it.")])
    assert not found_in(names("What does BERT do?")[0], [_hit("b.txt", 1, "The berth was empty.")])
    assert [n.context for n in names("What is the entry temperature of steam, in degrees Celsius?")] == [False]  # alone: the subject
    assert [n.context for n in names("What batch size was used to train AlexNet?")] == [False]


def test_acronyms_comparisons_and_measures() -> None:
    q = asked("Which laws mentioned predate EU law?")
    assert found_in(q.names[0], [_hit("eu.txt", 2, "It is a principle of international law, which predates European Union law.")])
    assert answers(asked("How quickly can an algorithm solve the knapsack problem?"), "It is solved in less than quadratic time.")
    assert answers(asked("What is the weight of a bushel of coal in pounds?"), "One bushel (94 pounds) of coal.")
    assert answer_type("What time of day did they gather?") == "date" and answers(asked("What time of day did they gather?"), "They gathered at night.")


def test_top_1_is_not_top_5() -> None:
    q = asked("What is the top-1 error of the single-model ResNet-152?")
    assert not answers(q, "Our 152-layer ResNet has a single-model top-5 validation error of 4.49%.")
    assert answers(q, "ResNet-152: top-1 err. 19.38 · top-5 err. 4.49")


def test_a_lone_name_after_on_is_the_subject() -> None:
    assert [(n.text, n.context) for n in names("How long is the warranty on the Osprey O3?")] == [("Osprey O3", False)]
    assert Names().missing(asked("How long is the warranty on the Osprey O3?").names) is not None


def test_a_swap_may_quote_the_previous_sentence_where_it_names_the_new_thing() -> None:
    said = "Quoted from your documents:\n[1] “WizardMath gains in pass@1 +24.8 (81.6 vs. 56.8) on GSM8k, and +9.2 (22.7 vs. 13.5) on MATH.” (w.pdf, p. 2)"
    q = asked("And on MATH?", [("user", "What pass@1 does WizardMath reach on GSM8k?"), ("assistant", said)])
    assert q.question == "What pass@1 does WizardMath reach on MATH?"
    assert _selectable(q, "WizardMath gains in pass@1 +24.8 (81.6 vs. 56.8) on GSM8k, and +9.2 (22.7 vs. 13.5) on MATH.")


def test_a_word_that_merely_contains_a_number_word_states_no_value() -> None:
    q = asked("How long is the warranty on the Kestrel K2 grinder?")
    assert not answers(q, "The Kestrel K2 is a single-dose electric grinder for espresso and filter coffee.")
    assert answers(q, "The Kestrel K2 warranty lasts 3 years and covers the motor and electronics.")


def test_a_followup_with_its_own_question_is_measured_by_its_own_words() -> None:
    h = [("user", "What top-5 error did the 152-layer ResNet reach on ImageNet?"), ("assistant", "...")]
    q = asked("How many FLOPs does it need?", h)
    assert answers(q, "The 152-layer ResNet (11.3 billion FLOPs) still has lower complexity than VGG-16/19 nets.")
    q = asked("What is the default value of epsilon in Adam?")
    assert "epsilon" in q.focus
    assert not answers(q, "Good default settings are α = 0.002, β1 = 0.9 and β2 = 0.999.")
    assert answers(q, "Good default settings are α = 0.001, β1 = 0.9, β2 = 0.999 and ϵ = 10−8.")
    assert not answers(asked("What was the training cost of ResNet-152?"), "A building block for ResNet-50/101/152 helps training.")


def test_a_sentence_about_a_sibling_of_the_subject_is_not_about_it() -> None:
    from citeqa.answer.siblings import names_sibling

    q = asked("How many programming languages does The Stack v2 cover?")
    v1 = "The community previously released The Stack v1, a 6.4 TB dataset in 384 programming languages."
    assert names_sibling(q.names[0], v1)
    found = Names({("stack", "v2"): {"s.pdf": frozenset({(3, 2)})}})
    passage = "The Stack v2 is new. " + v1
    assert not found.about(q.names, _hit("s.pdf", 3, passage, 2), v1)
    v2 = "The Stack v2 spans over 600 programming languages."
    assert found.about(q.names, _hit("s.pdf", 3, passage + " " + v2, 2), v2)
    assert not names_sibling(names("What top-5 error does ResNet-152 reach?")[0], "ResNet-152 beats ResNet-50 by 0.8.")
    assert names_sibling(names("What top-5 error does ResNet-152 reach?")[0], "ResNet-50 reaches 5.25% top-5 error.")
    assert not names_sibling(names("What is BERT?")[0], "BERT 2 is not a thing.")  # no number in the name


def test_how_many_wants_a_number_of_the_counted_thing() -> None:
    q = asked("How many parameters does ResNet-152 have?")
    assert not answers(q, "C is better than B, due to the extra parameters introduced by many (thirteen) projection shortcuts.")
    assert answers(q, "We consider two model sizes, containing respectively 220M and 770M parameters.")
    assert answers(asked("How many layers does the deepest network have?"), "We set n = 200 that leads to a 1202-layer network.")
    assert answers(asked("How many parameters does the 56-layer ResNet have?"), "ResNet 56: # layers 56 · # params 0.85M")


def test_a_year_in_a_name_or_a_count_is_not_a_date() -> None:
    q = asked("In what year was the ImageNet dataset first released?")
    assert not answers(q, "We evaluate our method on the ImageNet 2012 classification dataset that consists of 1000 classes.")
    assert not answers(q, "Our 152-layer residual net is the deepest network ever presented on ImageNet.")
    assert answers(asked("When was the BigCode project started?"), "The BigCode project was established in September 2022.")
    assert answers(asked("When was the Duchy founded?"), "The duchy was founded in 911 as a fiefdom.")
    assert answer_type("When is it divided by 10?") == "other"  # a condition: "when the error plateaus"


def test_a_rival_context_after_the_same_word_is_not_the_asked_one() -> None:
    q = asked("How deep was the deepest residual network they trained on CIFAR-10?")
    found = Names({("cifar", "10"): {"r.pdf": frozenset({(3, 2)})}})
    imagenet = "Our 152-layer residual net is the deepest network ever presented on ImageNet."
    assert not found.about(q.names, _hit("r.pdf", 3, imagenet, 2), imagenet)
    cifar = "We explore a 1202-layer network on CIFAR-10."
    assert found.about(q.names, _hit("r.pdf", 3, cifar, 2), cifar)


def test_a_term_meets_the_symbol_its_document_defines_for_it() -> None:
    from citeqa.answer.asked import asked_phrase
    from citeqa.answer.stated import symbol_stems
    from citeqa.answer.symbols import definitions, symbols_for

    paper = "Require: α: Stepsize\\nRequire: β1, β2 ∈ [0, 1): Exponential decay rates. λ denotes the weight decay."
    defined = definitions([paper, "where the learning rate η is decayed"])
    assert symbols_for(asked_phrase("What default step size does AdaMax use?"), defined) == ("α",)
    assert symbols_for(asked_phrase("What learning rate is used?"), defined) == ("η",)
    assert symbols_for(asked_phrase("What weight decay is used?"), defined) == ("λ",)
    assert symbols_for(asked_phrase("What decay is used?"), defined) == ()  # "decay" is not "weight decay"
    q = asked("What default step size does AdaMax use?")
    sentence = "Good default settings for the tested problems are α = 0.002, β1 = 0.9 and β2 = 0.999."
    assert not answers(q, "We use a batch size of 128 by default.")
    assert answers(Asked(q.question, q.kind, q.focus | symbol_stems(("α",)), q.names), sentence)


def test_a_change_is_not_the_asked_value() -> None:
    q = asked("What top-1 error does ResNet-152 reach?")
    assert not answers(q, "ResNet reduces the top-1 error by 3.5% (Table 2), resulting from the reduced training error.")
    assert answers(q, "ResNet-152 has a top-1 error of 19.38%.")
    improve = "ResNet-101 has a 6% increase of mAP over VGG-16, a 28% relative improvement."
    assert not answers(asked("What mAP does ResNet-101 reach?"), improve)
    assert answers(asked("How much does ResNet-101 improve mAP over VGG-16?"), improve)


def test_counted_type_words_headings_and_multiples() -> None:
    days = asked("How many days did it take to train the 152-layer ResNet?")
    assert not answers(days, "Remarkably, the 152-layer ResNet (11.3 billion FLOPs) still has lower complexity than VGG-16.")
    assert answers(days, "Training the 152-layer ResNet took 21 days on 8 GPUs.")
    lr = asked("What learning rate was used for the MNIST network?")
    assert not answers(lr, "3.3 Batch Normalization enables higher learning rates")
    assert not answers(lr, "Because our network trains faster, we lower the learning rate 6 times faster.")


def test_a_followup_with_new_words_may_quote_the_previous_sentence() -> None:
    from citeqa.answer.repeats import repeats

    quote = "We start base model training with a 4k context window and subsequently fine-tune the model with a 16k context window."
    history = [("user", "What context window is StarCoder2 fine-tuned with?"), ("assistant", f"Quoted: [1] “{quote}” (s.pdf, p. 2)")]
    assert not repeats(asked("What context window does its base model training start with?", history), quote)
    assert repeats(asked("What context window does it use?", history), quote)


def test_a_name_in_capitals_is_written_so() -> None:
    from citeqa.answer.mentions import mentions

    math = names("In what year was the MATH benchmark released?")[0]
    assert mentions(math, "WizardMath is evaluated on GSM8k and MATH.")
    assert not mentions(math, "Models that reason about code or math were released in 2022.")


def test_a_dataset_named_as_context_must_be_in_the_documents() -> None:
    q = asked("What top-1 accuracy does ResNet-50 reach on CIFAR-100?")
    found = Names({("resnet", "50"): {"r.pdf": frozenset({(3, 6)})}, ("cifar", "10"): {"r.pdf": frozenset({(9, 7)})}})
    assert found.missing(q.names) is not None and found.missing(q.names).text == "CIFAR-100"  # not CIFAR-10
    celsius = asked("What is the top speed of the Kestrel K2 in degrees Celsius?")
    kestrel = Names({("kestrel", "k2"): {"k.md": frozenset({(0, 1)})}})
    assert kestrel.missing(celsius.names) is None  # a unit word after "in" is left out, as before
    row_q = asked("What is the EM of Fusion-in-Decoder on TriviaQA?")
    row = "Fusion-in-Decoder (base): NQ EM 48.2 · SQuAD EM 53.4"
    on = Names({("fusion", "in", "decoder"): {"f.pdf": frozenset({(3, 3)})}, ("triviaqa",): {"f.pdf": frozenset({(1, 1)})}})
    assert not on.about(row_q.names, _hit("f.pdf", 3, "Table 1: Comparison. | NQ EM | SQuAD EM\n\n" + row, 3), row)


def test_citation_years_and_list_numbers_are_no_values() -> None:
    when = asked("When was the Adam optimizer first released on arXiv?")
    assert not answers(when, "RMSProp: An optimization method closely related to Adam is RMSProp (Tieleman & Hinton, 2012).")
    steps = asked("How many training steps does WizardMath use?")
    assert not answers(steps, "2. Training instruction reward model, and process-supervised reward model.")


def test_a_markdown_heading_ends_at_its_line() -> None:
    from citeqa.core.sentences import sentence_spans

    text = "# Osprey O3\nThe Osprey O3 warranty lasts 5 years.\n"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["# Osprey O3", "The Osprey O3 warranty lasts 5 years."]
