import numpy as np
import pytest

from matching.lexical import Bm25, char_ngrams, lexical_similarity, sequence_similarity


def test_char_ngrams_lists_unigrams_then_bigrams() -> None:
    assert char_ngrams("3倍加") == ["3", "倍", "加", "3倍", "倍加"]


def test_lexical_similarity_is_dice_of_character_bigrams() -> None:
    # bigrams 甲比 比乙 乙多 / 甲比 比丙 丙多: one shared of 3 + 3
    assert lexical_similarity("甲比乙多", "甲比丙多") == pytest.approx(2 * 1 / 6)
    assert lexical_similarity("加5等于", "加5等于") == 1.0
    assert lexical_similarity("", "") == 1.0
    assert lexical_similarity("甲", "乙") == 0.0


def test_sequence_similarity_sees_order_that_bigrams_miss() -> None:
    # 甲比乙多5个 / 乙比甲多5个: matching blocks 比 and 多5个 in order, 4 of 6 + 6 characters
    assert sequence_similarity("甲比乙多5个", "乙比甲多5个") == pytest.approx(2 * 4 / 12)
    assert lexical_similarity("甲比乙多5个", "乙比甲多5个") == pytest.approx(2 * 2 / 10)


def test_bm25_scores_match_the_okapi_formula() -> None:
    bm25 = Bm25(["ab", "ac", "bb"], k1=1.2, b=0.75)
    # grams: "ab" -> a b ab (3), "ac" -> a c ac (3), "bb" -> b b bb (3): every length equals the average
    idf_a = np.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    idf_b = np.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    idf_ab = np.log(1 + (3 - 1 + 0.5) / (1 + 0.5))
    once = 1 * 2.2 / (1 + 1.2)
    twice = 2 * 2.2 / (2 + 1.2)

    scores = bm25.scores("ab")

    assert scores == pytest.approx([idf_a * once + idf_b * once + idf_ab * once, idf_a * once, idf_b * twice])


def test_bm25_ignores_unknown_grams_and_repeated_query_grams() -> None:
    bm25 = Bm25(["ab", "ac"])

    assert bm25.scores("zz").tolist() == [0.0, 0.0]
    assert bm25.scores("aa").tolist() == bm25.scores("a").tolist()
