import pytest

from matching.lexical import char_ngrams, lexical_similarity, sequence_similarity


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
