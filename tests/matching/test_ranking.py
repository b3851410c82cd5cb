import pytest

from matching import ranking
from matching.encoder import DEFAULT_MODEL, encoder_get
from matching.ranking import Candidate, Match, candidates, match, outcome, rank
from matching.store import Entry, VectorStore

ANSWERED = [
    Entry(1, "数学", 3, "一个数的3倍加5等于20，这个数是多少？"),
    Entry(2, "数学", 3, "小明有15个苹果，吃了6个，还剩几个？"),
    Entry(3, "数学", 4, "一个长方形的长是8厘米，宽是5厘米，它的周长是多少厘米？"),
    Entry(4, "语文", 3, "“春风又绿江南岸”中的“绿”字好在哪里？"),
]


@pytest.fixture(scope="module")
def store() -> VectorStore:
    encoder = encoder_get(DEFAULT_MODEL)
    store = VectorStore(encoder.dimension)
    store.add(ANSWERED, encoder.encode([entry.text for entry in ANSWERED]))
    return store


def matched(text: str, store: VectorStore, grades: tuple[int, int] | None = (2, 4)) -> list[Match]:
    return match(text, subject="数学", grades=grades, store=store, encoder=encoder_get(DEFAULT_MODEL))


def test_the_same_question_retyped_is_same(store: VectorStore) -> None:
    matches = matched("1. 一个数的３倍加５等于２０, 这个数是多少?", store)

    assert outcome(matches) == "same"
    assert matches[0].entry == ANSWERED[0]
    assert matches[0].numbers_agree
    assert matches[0].dense > ranking.SAME_DENSE


def test_a_changed_operator_is_similar_not_same(store: VectorStore) -> None:
    matches = matched("一个数的3倍减5等于20，这个数是多少？", store)

    assert outcome(matches) == "similar"
    assert matches[0].entry == ANSWERED[0]
    assert matches[0].label == "similar"
    assert not matches[0].numbers_agree
    assert matches[0].dense > ranking.SAME_DENSE  # the embedding alone would have called it the same


def test_a_changed_number_is_similar_not_same(store: VectorStore) -> None:
    matches = matched("小明有15个苹果，吃了7个，还剩几个？", store)

    assert outcome(matches) == "similar"
    assert matches[0].entry == ANSWERED[1]
    assert not matches[0].numbers_agree


def test_an_unrelated_question_is_none(store: VectorStore) -> None:
    matches = matched("光合作用需要哪些条件？请举例说明植物的叶片结构。", store)

    assert matches == []
    assert outcome(matches) == "none"


def test_other_grades_and_subjects_are_not_searched(store: VectorStore) -> None:
    rectangle = ANSWERED[2].text

    assert matched(rectangle, store, grades=(3, 4))[0].entry == ANSWERED[2]
    assert all(m.entry != ANSWERED[2] for m in matched(rectangle, store, grades=(1, 3)))
    assert all(m.entry.subject == "数学" for m in matched(ANSWERED[3].text, store, grades=None))


def test_rank_puts_same_before_a_higher_scoring_similar_and_respects_limit() -> None:
    query = "一个数的3倍加5等于20"
    candidates = [
        Candidate(Entry(1, "数学", 3, "一个数的3倍减5等于20"), 0.999, 1.0),
        Candidate(Entry(2, "数学", 3, "一个数的3倍加5等于20"), 0.98, 1.0),
    ]

    matches = rank(query, candidates)

    assert [(m.entry.id, m.label) for m in matches] == [(2, "same"), (1, "similar")]
    assert rank(query, candidates, limit=1)[0].entry.id == 2


def test_scores_combine_dense_and_lexical_as_documented() -> None:
    [found] = rank("甲比乙多5个", [Candidate(Entry(1, "数学", 3, "甲比乙多5个"), 0.9, 1.0)])

    assert found.lexical == 1.0
    assert found.score == pytest.approx(ranking.DENSE_WEIGHT * 0.9 + (1 - ranking.DENSE_WEIGHT) * 1.0)
    assert found.label == "similar"  # below SAME_DENSE: not the same, however equal the text


def test_thresholds_are_ordered_and_labels_monotonic_in_the_dense_score() -> None:
    assert 0 < ranking.SIMILAR_SCORE < ranking.SAME_DENSE < 1
    assert 0 < ranking.SAME_SEQUENCE <= 1
    query = "一个数的3倍加5等于20"
    order = {"none": 0, "similar": 1, "same": 2}
    outcomes = [
        outcome(rank(query, [Candidate(Entry(1, "数学", 3, query), dense / 100, 1.0)])) for dense in range(0, 101)
    ]

    assert [order[o] for o in outcomes] == sorted(order[o] for o in outcomes)
    assert set(outcomes) == {"none", "similar", "same"}


def test_outcome_of_no_matches_is_none() -> None:
    assert outcome([]) == "none"


def test_shown_matches_are_ordered_by_the_order_score_not_the_deciding_score() -> None:
    query = "小明有15个苹果，吃了6个，还剩几个？"
    twin = Entry(1, "数学", 3, "小红有15个梨，吃了6个，还剩几个？")  # the same exercise with other things
    paraphrase = Entry(2, "数学", 3, "小明买来十五只苹果，之后又吃掉六只，那么现在剩下多少只？")

    shown = rank(query, [Candidate(paraphrase, 0.97, 0.1), Candidate(twin, 0.70, 0.8)])

    assert [(match.entry.id, match.label) for match in shown] == [(1, "similar"), (2, "similar")]
    assert shown[0].score < shown[1].score  # the deciding score alone would have put the paraphrase first


def test_candidates_join_dense_and_lexical_results_each_with_both_scores(store: VectorStore, monkeypatch) -> None:
    monkeypatch.setattr(ranking, "CANDIDATES", 1)  # the dense side finds one entry, the words find the others
    encoder = encoder_get(DEFAULT_MODEL)
    text = "小明有15个苹果，一个长方形的周长是多少厘米？"
    vector = encoder.encode([text])[0]
    [(nearest, similarity)] = store.search(vector, subject="数学", grades=(2, 4), k=1)

    found = candidates(text, vector, subject="数学", grades=(2, 4), store=store)

    by_id = {candidate.entry.id: candidate for candidate in found}
    assert found[0].entry == nearest
    assert set(by_id) == {1, 2, 3}  # 1 shares 一个 and 多少, 2 小明 and 苹果, 3 长方形 and 周长
    entries = [candidate.entry for candidate in found]
    assert [candidate.relevance for candidate in found] == pytest.approx(store.relevance(text, entries).tolist())
    assert [candidate.dense for candidate in found] == pytest.approx(
        (encoder.encode([entry.text for entry in entries]) @ vector).tolist(), abs=2e-3
    )
    assert by_id[nearest.id].dense == pytest.approx(similarity)
    assert {c.entry.id for c in candidates(text, vector, subject="数学", grades=(2, 4), store=store, exclude=2)} == {
        1,
        3,
    }
