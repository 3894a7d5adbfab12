"""Which number a sentence states: the asked measure's value, or a number of something else (a
count made an adjective, a count where a ratio is asked, another data split, another size of the
subject, a value about a name the page mentions only in passing). Pure functions: no index."""

from __future__ import annotations

from citeqa.answer.asked import asked
from citeqa.answer.mentions import mentions
from citeqa.answer.siblings import other_size
from citeqa.answer.stated import answers


def test_a_number_made_an_adjective_is_not_an_error():
    q = asked("What test error does the 1202-layer ResNet get?")
    assert not answers(q, "The testing result of this 1202-layer network is worse than that of our 110-layer network.")
    assert answers(q, "The 1202-layer network has a test error of 7.93%.")


def test_a_number_adjective_of_the_counted_thing_still_counts():
    q = asked("How many layers does the deepest network have?")
    assert answers(q, "We train a 1202-layer network on CIFAR-10.")


def test_a_ratio_is_not_a_bare_count():
    q = asked("What test error does the ResNet reach on CIFAR-10?")
    assert not answers(q, "CIFAR-10 has 50k training images and 10k test images, and we report the test error.")
    assert answers(q, "The ResNet reaches a test error of 6.43 percent on CIFAR-10.")
    assert answers(q, "ResNet 110: # params 1.7M · error (%) 6.43", "Table 6. Classification error on the CIFAR-10 test set.", row=True)


def test_a_test_error_is_not_a_training_error():
    q = asked("What test error does it get?")
    assert not answers(q, "This network is able to achieve training error <0.1%.")
    assert answers(q, "It reaches a test error of 7.93%, and a training error of 0.1%.")


def test_how_long_it_took_needs_a_time():
    q = asked("How long did it take to train the large model?")
    assert not answers(q, "The large model: NQ EM 51.4 · TriviaQA EM 67.6")
    assert answers(q, "Training the large model took 3 days on 64 GPUs.")
    assert answers(q, "We train the large model for 10k gradient steps.")


def test_another_size_of_the_subject_is_another_subject():
    q = asked("What test error does the 110-layer ResNet reach on CIFAR-10?")

    def other(question, quote: str) -> bool:
        return other_size(question.names, question.question, quote, value=question.kind in ("quantity", "date"))

    assert other(q, "ResNet 32: # params 0.46M · error (%) 7.51")
    assert not other(q, "ResNet 110: # params 1.7M · error (%) 6.43")
    assert other(q, "With multi-scale testing, our ResNet-101 has an error of 11.7%.")
    assert not other(q, "Our 110-layer ResNet has 1.7M parameters.")
    assert not other(asked("What test error does ResNet reach?"), "ResNet 32: error (%) 7.51")
    # a numbered subject: the family's figure is another size's
    q = asked("What pass@1 does WizardMath 13B reach on MATH?")
    assert other(q, "WizardMath observes an improvement of +9.2 (22.7 vs. 13.5) on MATH.")
    assert not other(q, "WizardMath 13B reaches 14.0 pass@1 on MATH.")


def test_an_accelerator_named_by_model_is_a_gpu():
    q = asked("How many GPUs were used to train Fusion-in-Decoder?")
    sentence = "We train the model for 10k gradient steps, with a batch size of 64, using 64 Tesla V100 32Gb."
    assert answers(q, sentence)
    assert not answers(q, "We train the model for 10k gradient steps, with a batch size of 64.")


def test_a_question_written_as_its_subject_line_asks_how_many():
    q = asked("Number of GPUs used to train Fusion-in-Decoder?")
    assert q.kind == "quantity"
    assert q.focus == frozenset({"gpu"})  # not "used to train": what is counted stops at its clause


def test_an_acronym_of_a_hyphenated_name_names_it():
    fid = asked("How many parameters does the large FiD model have?").names[0]
    assert mentions(fid, "We refer to it as Fusion-in-Decoder.")
    assert not mentions(fid, "Fine-tuning is done with the pretrained models.")


def test_a_parameter_named_by_its_symbol_asks_for_its_value():
    q = asked("What is the default epsilon in Adam?")
    assert q.kind == "quantity"
    # AdaMax's defaults name no epsilon: not the answer, however alike the sentences read
    assert not answers(q, "Good default settings for the tested machine learning problems are α = 0.002, β1 = 0.9 and β2 = 0.999.")
    assert answers(q, "Good default settings are α = 0.001, β1 = 0.9, β2 = 0.999 and ϵ = 10−8.")
    assert asked("What is the default password?").kind == "other"


def test_a_share_of_something_is_not_another_measures_percentage():
    q = asked("What percentage of the training steps did BN-Inception need to match Inception?")
    assert not answers(q, "BN-x5 needs 14 times fewer steps than Inception to reach the 72.2% accuracy.")
    assert answers(q, "We can match its performance using only 7% of the training steps.")
    q = asked("What percentage of a high pressure engine's efficiency has the engine achieved?")
    assert answers(q, "The efficiency of the steam engine reaches some 27-30% on high-pressure engines.")


def test_a_run_in_heading_is_a_heading():
    from citeqa.answer.evidence_text import is_heading

    assert is_heading("Deeper Bottleneck Architectures.")
    assert is_heading("Identity vs. Projection Shortcuts.")
    assert not is_heading("We use SGD with a mini-batch size of 256.")
    assert not is_heading("BN-x5 needs 14 times fewer steps.")
    assert is_heading("# Osprey O3")
    assert not is_heading("#P is the class of counting problems that corresponds to NP.")


def test_a_row_labelled_by_a_setting_is_about_the_papers_subject():
    from citeqa.answer.names import Names
    from citeqa.core.types import Hit

    q = asked("With 25 training passages, what exact match does Fusion-in-Decoder get on NaturalQuestions?")
    fid = q.names[0]
    row = "25: NaturalQuestions w/o finetuning 45.3 · TriviaQA w/o finetuning 63.2"
    hit = Hit("c40", "fid.pdf", 5, f"Table 2: Performance depending on the number of passages.\n\n{row}", 1.0, 40)
    throughout = Names({fid.parts: {"fid.pdf": frozenset({(i, 2 + i // 4) for i in range(1, 6)})}})
    assert throughout.about(q.names, hit, row)
    # named in passing only, or a row labelled by another method: not its row
    passing = Names({fid.parts: {"fid.pdf": frozenset({(1, 1), (2, 1)})}})
    assert not passing.about(q.names, hit, row)
    rag = "RAG: NaturalQuestions EM 44.5 · TriviaQA EM 56.1"
    assert not throughout.about(q.names, Hit("c41", "fid.pdf", 5, rag, 1.0, 41), rag)
