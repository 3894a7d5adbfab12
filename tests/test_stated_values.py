"""Which number a sentence states: the asked measure's value, or a number of something else (a
count made an adjective, a count where a ratio is asked, another data split, another size of the
subject, a value about a name the page mentions only in passing). Pure functions: no index."""

from __future__ import annotations

from citeqa.answer.asked import asked
from citeqa.answer.evidence import _other_size
from citeqa.answer.names import Names
from citeqa.answer.stated import answers
from citeqa.core.types import Hit


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
    assert _other_size(q, "ResNet 32: # params 0.46M · error (%) 7.51")
    assert not _other_size(q, "ResNet 110: # params 1.7M · error (%) 6.43")
    assert _other_size(q, "With multi-scale testing, our ResNet-101 has an error of 11.7%.")
    assert not _other_size(q, "Our 110-layer ResNet has 1.7M parameters.")
    assert not _other_size(asked("What test error does ResNet reach?"), "ResNet 32: error (%) 7.51")


def _hit(index: int, page: int, text: str) -> Hit:
    return Hit(f"c{index}", "resnet.pdf", page, text, 1.0, index)


def test_a_value_about_a_name_mentioned_in_passing_must_name_it():
    q = asked("What top-5 error does VGG-19 reach?")
    vgg = next(n for n in q.names if not n.context)
    passing = Names({vgg.parts: {"resnet.pdf": frozenset({(5, 7), (9, 3)})}})
    hit = _hit(6, 7, "We combine six models of different depth to form an ensemble. This leads to 3.57% top-5 error.")
    sentence = "This leads to 3.57% top-5 error."
    # on the page that names VGG-19, but in a passage that does not: about the ResNets
    assert not passing.about(q.names, hit, sentence, value=True)
    assert passing.about(q.names, hit, sentence)  # a question that asks for no value: as before
    # a document about it (named in many passages): its page is enough
    topic = Names({vgg.parts: {"resnet.pdf": frozenset({(i, 7) for i in range(1, 9)})}})
    assert topic.about(q.names, hit, sentence, value=True)
    # the passage names it: about it
    named = _hit(6, 7, "VGG-19 is our baseline. This leads to 3.57% top-5 error.")
    assert passing.about(q.names, named, sentence, value=True)
