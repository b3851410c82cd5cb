import pytest

from matching.knowledge import (
    KEYWORD_WEIGHT,
    NEIGHBOUR_FLOOR,
    OFF_GRADE,
    VOTE_EXPONENT,
    Point,
    Suggestion,
    Vocabulary,
    suggest,
)

VOCABULARY = Vocabulary(
    [
        Point("multiply-2x2", ("两位数乘两位数", "乘法")),
        Point("multiply", ("乘法",)),
        Point("fractions", ("分数",), grades=(5, 6)),
        Point("x", ("数", "x")),  # one-character words are never looked for
    ]
)


def vote(similarity: float) -> float:
    return ((similarity - NEIGHBOUR_FLOOR) / (1 - NEIGHBOUR_FLOOR)) ** VOTE_EXPONENT + 1e-6


def test_the_neighbours_vote_by_similarity_and_the_longest_word_found_adds_its_share():
    neighbours = [(0.65, ["multiply"]), (0.9, ["multiply-2x2"]), (0.2, ["fractions"])]  # the last is too far

    found = suggest("计算：两位数乘两位数的乘法", grade=3, neighbours=neighbours, vocabulary=VOCABULARY)

    total = vote(0.9) + vote(0.65)
    assert found == [
        Suggestion("multiply-2x2", round(KEYWORD_WEIGHT * 1 + (1 - KEYWORD_WEIGHT) * vote(0.9) / total, 4)),
        Suggestion("multiply", round(KEYWORD_WEIGHT * 2 / 7 + (1 - KEYWORD_WEIGHT) * vote(0.65) / total, 4)),
    ]


def test_a_neighbour_with_several_points_gives_each_its_whole_vote():
    found = suggest("一道题", grade=None, neighbours=[(0.8, ["multiply", "fractions"])], vocabulary=VOCABULARY)

    share = round((1 - KEYWORD_WEIGHT) * 1.0, 4)
    assert found == [Suggestion("fractions", share), Suggestion("multiply", share)]  # ties by code


def test_with_no_neighbour_close_enough_the_words_alone_are_never_confident():
    found = suggest("ＡＢ分数的乘法", grade=6, neighbours=[(0.1, ["multiply"])], vocabulary=VOCABULARY)

    assert found == [
        Suggestion("fractions", KEYWORD_WEIGHT),
        Suggestion("multiply", KEYWORD_WEIGHT),
        Suggestion("multiply-2x2", KEYWORD_WEIGHT),
    ]


def test_a_point_not_taught_in_the_questions_grade_counts_less():
    neighbours = [(0.8, ["fractions"]), (0.8, ["multiply"])]

    found = suggest("一道题", grade=3, neighbours=neighbours, vocabulary=VOCABULARY)

    assert found == [
        Suggestion("multiply", round((1 - KEYWORD_WEIGHT) * 0.5, 4)),
        Suggestion("fractions", round((1 - KEYWORD_WEIGHT) * 0.5 * OFF_GRADE, 4)),
    ]


@pytest.mark.parametrize("text", ["x数", "今天天气很好"])
def test_nothing_is_suggested_without_a_neighbour_or_a_word_of_two_characters(text):
    assert suggest(text, grade=3, neighbours=[], vocabulary=VOCABULARY) == []


def test_at_most_the_limit_best_first():
    neighbours = [(0.95, ["a"]), (0.9, ["b"]), (0.85, ["c"]), (0.8, ["d"])]

    found = suggest("一道题", grade=None, neighbours=neighbours, vocabulary=VOCABULARY, limit=2)

    assert [suggestion.code for suggestion in found] == ["a", "b"]
