"""Quotes about a neighbour of the asked subject are no answer (#21), as pure functions: a name
run into another number ("SHA256" for SHA224, "StarCoder" for StarCoder2), a sibling constant,
a size written before the name, a name's number after a hyphen read as a version, an escape read
as a year, an empty table cell, a byline that names no one; and a sentence that points back is
shown with the sentence it points to."""

from __future__ import annotations

from citeqa.answer.asked import asked
from citeqa.answer.evidence_text import with_antecedent
from citeqa.answer.people import names_someone
from citeqa.answer.repeats import repeats
from citeqa.answer.siblings import names_family_only, names_sibling
from citeqa.answer.stated import answers, states
from citeqa.answer.versions import states_version
from citeqa.core.types import Evidence, Hit


def _name(question: str, text: str):
    return next(n for n in asked(question).names if n.text == text)


def test_a_name_run_into_another_number_is_a_sibling() -> None:
    sha = _name("How long is a SHA224 digest in Nettle?", "SHA224")
    assert names_sibling(sha, "The size of a SHA3_512 digest, i.e. 64.")
    assert names_sibling(sha, "SHA-256 is the one to use.")
    assert not names_sibling(sha, "The size of a SHA224 digest, i.e. 28.")
    assert not names_sibling(sha, "SHA224_DIGEST_SIZE octets are written.")
    starcoder = _name("On what date was StarCoder2 released?", "StarCoder2")
    assert names_family_only(starcoder, "the community released StarCoder on May 4th, 2023")
    assert not names_family_only(starcoder, "StarCoder2 was released in February 2024")
    assert not names_family_only(starcoder, "StarCoderBase-15B is older")


def test_a_sibling_constant_is_no_answer_but_a_library_function_prefix_is_shared() -> None:
    block = _name("What is the numeric value of SHA3_256_BLOCK_SIZE in Nettle?", "SHA3_256_BLOCK_SIZE")
    assert names_sibling(block, "Constant: SHA3_256_DIGEST_SIZE The size of a SHA3_256 digest, i.e., 32.")
    assert not names_sibling(block, "Constant: SHA3_256_BLOCK_SIZE The block size, 136.")
    length = _name("What value does asn1_get_length_der return when the length is indefinite?", "asn1_get_length_der")
    assert not names_sibling(length, "Returns: -1 on indefinite length. [Function] int asn1_get_tag_der (const unsigned char * der)")


def test_a_size_before_the_name_is_part_of_it() -> None:
    (wizard, context) = asked("What pass@1 does the 13B WizardMath model get on MATH?").names
    assert (wizard.text, wizard.parts, context.text) == ("WizardMath 13B", ("wizardmath", "13b"), "MATH")
    assert names_family_only(wizard, "WizardMath observe +9.2 (22.7 vs. 13.5) on MATH.")


def test_a_names_number_after_a_hyphen_is_no_version_and_an_escape_no_year() -> None:
    question = "Since which Nettle version is SHAKE-256 available?"
    assert not states_version(question, "Nettle also provides a SHA-3 extendable-output function (XOF), SHAKE-256.")
    assert states_version(question, "SHAKE-256 was added in Nettle 3.9.")
    assert not states("date", "LC_ALL=ja_JP.shiftjis sed $'/[\\203]/]/p'")
    assert states("date", "In 711 the Umayyads crossed into Iberia.")
    # a count in billions is no year: "When was StarCoder released?" is not answered by it
    assert not states("date", "With this new training set of 900B+ unique tokens, we develop the next StarCoder models.")
    assert states("date", "The community released StarCoder in 2023, trained on 1T tokens.")
    # nor is a section sign's number a quantity, nor the order of a method
    assert not states("quantity", "We describe the data from Software Heritage (§2.1) and also GitHub issues.")
    assert not states("quantity", "We compare Adam to other stochastic first order methods trained with dropout noise.")
    assert states("quantity", "We compare 3 first-order methods.")


def test_an_empty_cell_and_a_times_question() -> None:
    top1 = asked("What top-1 error did the GoogLeNet ensemble get?")
    assert not answers(top1, "GoogLeNet ensemble: Resolution 224 · Crops 144 · Top-1 error - · Top-5 error 6.67%", row=True)
    assert answers(top1, "BN-Inception ensemble: Resolution 224 · Crops 144 · Top-1 error 20.1% · Top-5 error 4.9%", row=True)
    times = asked("How many times fewer steps than Inception did BN-x30 need?")
    assert not answers(times, "Inception reached the accuracy of 72.2% after 31 million training steps.")
    assert answers(times, "BN-x30 reaches 72.2% in 5 times fewer steps than Inception.")


def test_the_asked_splits_cell_and_the_asked_kind_of_measure() -> None:
    val = asked("What top-5 localization error did GoogLeNet get on the ImageNet validation set?")
    row = "GoogLeNet [44] (ILSVRC’14): top-5 localization err val - · top-5 localization err test 26.7"
    assert not answers(val, row, row=True)  # the validation cell is empty; 26.7 is the test error
    test = asked("What top-5 localization error did GoogLeNet get on the ImageNet test set?")
    assert answers(test, row, row=True)
    # a row of top-5 classification errors gives no top-5 localization error
    caption = "Table 4. Error rates (%) of single-model results on the ImageNet validation set."
    assert not answers(val, "GoogLeNet [44]: top-1 err. - · top-5 err. 9.15", caption, row=True)
    assert answers(asked("What top-5 error did GoogLeNet get?"), "GoogLeNet [44]: top-1 err. - · top-5 err. 9.15", caption, row=True)


def test_a_followup_with_another_setting_is_not_answered_by_the_previous_row() -> None:
    row = "BN-Inception single crop: Resolution 224 · Crops 1 · Models 1 · Top-1 error 25.2% · Top-5 error 7.82%"
    first = "What top-5 validation error does a single BN-Inception model get with a single crop?"
    history = [("user", first), ("assistant", f"“{row}” [1]")]
    assert repeats(asked("And with multi-crop testing?", history), row)
    large = "We consider two model sizes, base and large, containing respectively 220M and 770M parameters."
    history = [("user", "How many parameters does the base Fusion-in-Decoder model have?"), ("assistant", f"“{large}” [1]")]
    assert not repeats(asked("And the large one?", history), large)


def test_a_table_of_contents_names_no_author() -> None:
    question = "Who originally wrote the Nettle manual?"
    assert not names_someone(question, "Nettle: a low-level cryptographic library Table of Contents")
    assert names_someone(question, "Originally written 2001 by Niels Möller, updated 2017.")


def test_a_sentence_that_points_back_is_shown_with_the_one_before() -> None:
    text = 'The "L" command has been listed as a failed experiment for 10 years. That command is now removed.'
    hit = Hit(chunk_id="c", source="news.pdf", page=4, text=text, score=1.0)
    start = text.index("That")
    ev = with_antecedent(Evidence(n=1, hit=hit, start=start, end=len(text), quote=text[start:], score=1.0))
    assert ev.quote == text and ev.start == 0
    plain = Evidence(n=1, hit=hit, start=0, end=start - 1, quote=text[: start - 1], score=1.0)
    assert with_antecedent(plain) == plain


def test_a_count_of_a_unit_asks_the_value_in_it_and_authors_who_act_are_not_asked() -> None:
    from citeqa.answer.byline import asks_authors
    from citeqa.answer.units import in_asked_unit

    question = "How many terabytes of source code does The Stack v2 contain?"
    assert not in_asked_unit(question, "We train Code LLMs with 3B, 7B, and 15B parameters.")
    assert in_asked_unit(question, "The Stack v2 is a 67.5 TB dataset.")
    assert in_asked_unit("How many years did the war last?", "It lasted from 1337 to 1453.")  # a time: no unit needed
    assert not asks_authors("Who do the Adam authors credit with coining the name Adam?")
    assert asks_authors("Who are the authors of the Adam paper?") and asks_authors("Who wrote it?")


def test_a_sentence_that_opens_with_another_model_states_its_value() -> None:
    from citeqa.answer.siblings import opens_with_other

    deep = asked("What top-1 error does the Deep Image ensemble have on the ImageNet validation set?")
    assert opens_with_other(deep.names, "BN-inception [16]: top-1 err. 21.99 · top-5 err. 5.81")
    assert not opens_with_other(deep.names, "Deep Image ensemble: top-1 err. 19.2")
    coco = asked("How many object categories does MS COCO have?")
    assert opens_with_other(coco.names, "The ImageNet Detection (DET) task involves 200 object categories.")
    assert not opens_with_other(coco.names, "The MS COCO dataset [26] involves 80 object categories.")
    # an acronym for a part or a step is no other model; a name the question gives is its own
    resnet = asked("What learning rate did the ResNet authors use first for their Faster R-CNN detector on COCO?")
    assert not opens_with_other(resnet.names, "The RPN step and Fast R-CNN step are both trained with a learning rate of 0.001.")
    sigmoid = asked("What accuracy does the sigmoid version of the batch-normalized Inception (BN-x5-Sigmoid) reach?")
    assert not opens_with_other(sigmoid.names, "BN-x5-Sigmoid: Max accuracy 69.8%")

