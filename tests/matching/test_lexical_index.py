import math

import numpy as np
import pytest

from matching import lexical_index
from matching.lexical_index import K1, B, LexicalIndex, words

TEXTS = {
    1: ("数学", 3, "小明有15个苹果，吃了6个，还剩几个苹果？"),
    2: ("数学", 3, "小红有20个梨，吃了5个，还剩几个梨？"),
    3: ("数学", 5, "一个长方形的长是8厘米，宽是5厘米，它的周长是多少厘米？"),
    4: ("语文", 3, "春风又绿江南岸的绿字好在哪里？"),
}


def filled(texts: dict[int, tuple[str, int, str]] = TEXTS) -> LexicalIndex:
    index = LexicalIndex()
    index.add(list(texts), *zip(*texts.values(), strict=True))
    return index


def bm25(query: str, document: str, documents: list[str]) -> float:
    """Okapi BM25 (Lucene's idf) of one document, each distinct query word once: the formula, written out."""
    split = [words(text) for text in documents]
    average = sum(map(len, split)) / len(split)
    mine = words(document)
    total = 0.0
    for word in dict.fromkeys(words(query)):
        frequency = mine.count(word)
        containing = sum(word in other for other in split)
        if frequency and containing:
            idf = math.log(1 + (len(split) - containing + 0.5) / (containing + 0.5))
            total += idf * frequency * (K1 + 1) / (frequency + K1 * (1 - B + B * len(mine) / average))
    return total


def test_words_are_jieba_words_of_the_normalised_text_without_punctuation() -> None:
    assert words("１. 小明有15个苹果，还剩几个？") == ["小明", "有", "15", "个", "苹果", "还", "剩", "几个"]


def test_relevance_is_bm25_over_the_query_against_itself() -> None:
    index = filled()
    documents = [text for _, _, text in TEXTS.values()]
    query = "小明有15个苹果，还剩几个苹果？"
    relevance = index.relevance(query, [1, 2, 3, 4, 404])

    # The query's own score uses the query as a document of the index (its length, the index's idf).
    norm = K1 * (1 - B + B * len(words(query)) / (sum(len(words(text)) for text in documents) / 4))
    own = 0.0
    for word in dict.fromkeys(words(query)):
        containing = sum(word in words(text) for text in documents)
        if containing:
            count = words(query).count(word)
            own += math.log(1 + (4 - containing + 0.5) / (containing + 0.5)) * count * (K1 + 1) / (count + norm)
    expected = [bm25(query, text, documents) / own for text in documents] + [0.0]
    assert relevance.tolist() == pytest.approx(expected, rel=1e-5)


def test_search_keeps_to_the_subject_and_grades_best_first() -> None:
    index = filled()

    found = index.search("还剩几个苹果", subject="数学", grades=(3, 3), k=5)

    assert [entry_id for entry_id, _ in found] == [1, 2]
    assert found[0][1] > found[1][1] > 0
    assert index.search("还剩几个苹果", subject="数学", grades=(4, 6), k=5) == []
    assert index.search("还剩几个苹果", subject="物理", grades=None, k=5) == []
    assert index.search("光合作用需要阳光", subject="数学", grades=None, k=5) == []
    assert [entry_id for entry_id, _ in index.search("苹果", subject="数学", grades=None, k=1)] == [1]


def test_adding_an_id_again_replaces_its_text_and_removing_withdraws_it() -> None:
    index = filled()

    index.add([1], ["数学"], [3], ["一个长方形的面积是多少平方厘米？"])
    index.remove([3, 404])

    assert len(index) == 3
    assert [entry_id for entry_id, _ in index.search("长方形", subject="数学", grades=None, k=5)] == [1]
    assert index.search("苹果", subject="数学", grades=None, k=5) == []
    assert index.relevance("长方形", [3]).tolist() == [0.0]


def test_common_words_score_but_do_not_nominate(monkeypatch) -> None:
    monkeypatch.setattr(lexical_index, "CANDIDATE_SHARE", 0.3)
    monkeypatch.setattr(lexical_index, "CANDIDATE_COUNT", 1)
    index = filled()

    # 个 is in 3 of 4 documents: it alone still finds them (the rarest words nominate when no other does)...
    assert {entry_id for entry_id, _ in index.search("个", subject="数学", grades=None, k=5)} == {1, 2}
    # ...and with a rare word beside it, only the rare word's documents are candidates, scored with both words.
    [(entry_id, relevance)] = index.search("个苹果", subject="数学", grades=None, k=5)
    assert entry_id == 1
    assert relevance == pytest.approx(index.relevance("个苹果", [1])[0])


def test_merged_and_saved_postings_score_exactly_as_before(monkeypatch) -> None:
    monkeypatch.setattr(lexical_index, "MERGE_SHARE", 0.0)  # merge after every add
    texts = {
        number: ("数学", 3 + number % 3, f"第{number}题：小明有{number}个苹果和{number % 7}个梨，共有几个水果？")
        for number in range(60)
    }
    index = filled(texts)
    index.remove(range(0, 60, 3))
    assert index.search("共有几个水果", subject="数学", grades=None, k=1)[0][1] > 0  # dead postings, positive idf
    index.add([60], ["数学"], [3], ["小明有60个苹果"])  # merges: the dead postings leave
    queries = ["小明有12个苹果", "共有几个水果", "梨"]
    before = [index.search(query, subject="数学", grades=(3, 4), k=10) for query in queries]

    loaded = LexicalIndex.from_arrays(index.arrays())

    assert len(loaded) == 41
    for query, found in zip(queries, before, strict=True):
        again = loaded.search(query, subject="数学", grades=(3, 4), k=10)
        assert [entry_id for entry_id, _ in again] == [entry_id for entry_id, _ in found]
        assert np.allclose([score for _, score in again], [score for _, score in found], rtol=1e-5)
    assert loaded.arrays().rows.tolist() == index.arrays().rows.tolist()


def test_documents_keep_every_text_exactly_through_removals_joins_and_saving(monkeypatch) -> None:
    monkeypatch.setattr(lexical_index, "MERGE_SHARE", 0.0)  # join the tail after every add
    texts = {
        1: ("数学", 3, "小明有15个苹果😀，还剩几个？"),
        2: ("英语", 7, "How many apples are left? x² + y²"),
        3: ("语文", 5, "𠀀字怎么读？"),
        4: ("数学", 4, "１２＋５＝？"),
    }
    index = filled(texts)
    index.remove([1])
    index.add([5], ["数学"], [6], ["一个长方形的周长是多少？"])  # joins: slot 0 leaves, the others move up

    assert index.documents([5, 3, 2, 4]) == [
        ("数学", 6, "一个长方形的周长是多少？"),
        ("语文", 5, "𠀀字怎么读？"),
        ("英语", 7, "How many apples are left? x² + y²"),
        ("数学", 4, "１２＋５＝？"),
    ]
    assert index.ids().tolist() == [2, 3, 4, 5]
    assert index.present([1, 2, 404, 5]) == [2, 5]
    assert LexicalIndex.from_arrays(index.arrays()).documents([2, 3]) == index.documents([2, 3])
    with pytest.raises(KeyError, match="1"):
        index.documents([1])


def test_nominating_words_stop_at_the_postings_budget_rarest_first(monkeypatch) -> None:
    texts = {number: ("数学", 3, f"小明有{number}个苹果") for number in range(1, 6)}
    texts[9] = ("数学", 3, "小明有梨")
    index = filled(texts)

    # 梨 (1 document) is the rarest: with a budget of 1 posting it alone nominates.
    monkeypatch.setattr(lexical_index, "NOMINATION_POSTINGS", 1)
    assert [entry_id for entry_id, _ in index.search("小明的梨和苹果", subject="数学", grades=None, k=10)] == [9]
    # With room for 苹果's 5 postings too, its documents come in, scored with every word.
    monkeypatch.setattr(lexical_index, "NOMINATION_POSTINGS", 6)
    found = index.search("小明的梨和苹果", subject="数学", grades=None, k=10)
    assert sorted(entry_id for entry_id, _ in found) == [1, 2, 3, 4, 5, 9]
    assert [relevance for _, relevance in found] == pytest.approx(
        index.relevance("小明的梨和苹果", [entry_id for entry_id, _ in found]).tolist()
    )


def test_joining_postings_keeps_each_words_earlier_slots_before_the_later_ones() -> None:
    # word 0: slots 1, 4 then 7; word 1: slot 2 then none; word 2 (new in the later set): slots 8, 9
    earlier = lexical_index._Postings(
        np.array([0, 2, 3]), np.array([1, 4, 2], dtype=np.int32), np.array([1, 2, 3], dtype=np.uint8)
    )
    later = lexical_index._Postings(
        np.array([0, 1, 1, 3]), np.array([7, 8, 9], dtype=np.int32), np.array([4, 5, 6], dtype=np.uint8)
    )

    joined = earlier.joined(later)

    assert joined.offsets.tolist() == [0, 3, 4, 6]
    assert joined.rows.tolist() == [1, 4, 7, 2, 8, 9]
    assert joined.counts.tolist() == [1, 2, 4, 3, 5, 6]
