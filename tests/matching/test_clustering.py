import numpy as np

from matching.clustering import DENSE_WEIGHT, THRESHOLD, cluster_words, clusters_find

AREA = "一个长方形的长是{a}厘米，宽是{b}厘米，它的面积是多少平方厘米？"
APPLES = "小明有{a}个苹果，吃了{b}个，还剩几个？"
POEM = "“春眠不觉晓”的下一句是什么？"


def axis(number: int, jitter: float = 0.0, size: int = 16) -> np.ndarray:
    vector = np.zeros(size, dtype=np.float32)
    vector[number] = 1.0
    vector[(number + 1) % size] = jitter
    return vector / np.linalg.norm(vector)


def test_the_same_exercise_with_other_numbers_is_one_cluster_the_largest_first_and_rare_questions_none():
    texts = [
        *(AREA.format(a=a, b=b) for a, b in ((5, 3), (8, 2), (12, 7), (9, 4))),
        *(APPLES.format(a=a, b=b) for a, b in ((7, 4), (9, 3), (10, 6))),
        POEM,
        POEM,  # twice: fewer than three is not recurring
        "一辆汽车3小时行驶了120千米，它的平均速度是多少？",
    ]
    vectors = np.array(
        [axis(0, 0.01 * i) for i in range(4)] + [axis(4, 0.02 * i) for i in range(3)] + [axis(8), axis(8), axis(12)]
    )

    clusters = clusters_find(vectors, texts)

    assert [sorted(cluster.members) for cluster in clusters] == [[0, 1, 2, 3], [4, 5, 6]]
    assert [cluster.terms for cluster in clusters] == [["厘米", "平方厘米", "长方形", "面积"], ["小明", "苹果"]]


def test_members_come_most_central_first_with_their_mean_similarity():
    texts = [f"{name}有5个苹果，吃了3个，还剩几个？" for name in ("小明", "小红", "小刚")]
    vectors = np.array([axis(0, 0.3), axis(0, 0.0), axis(0, -0.3)])

    (cluster,) = clusters_find(vectors, texts)

    assert cluster.members[0] == 1  # the middle one is nearest the other two
    assert cluster.centrality[0] > cluster.centrality[1]
    assert cluster.centrality == [0.8827, 0.8514, 0.8514]


def test_alike_words_in_unrelated_meanings_are_not_a_cluster():
    texts = [POEM, POEM.replace("下", "上"), POEM.replace("一句", "两句")]
    vectors = np.array([axis(0), axis(5), axis(10)])  # orthogonal: alike by their words alone

    assert clusters_find(vectors, texts) == []


def test_complete_linkage_never_chains_from_one_topic_to_another():
    angles = np.radians([0, 20, 40, 60, 80, 100])
    vectors = np.zeros((6, 16), dtype=np.float32)
    vectors[:, 0], vectors[:, 1] = np.cos(angles), np.sin(angles)
    texts = [f"{name}有5个苹果，吃了3个，还剩几个？" for name in ("小明", "小红", "小刚", "小华", "小丽", "小军")]

    clusters = clusters_find(vectors, texts)

    assert clusters  # neighbours are alike
    for cluster in clusters:
        inside = vectors[cluster.members]
        assert (DENSE_WEIGHT * (inside @ inside.T)).min() >= THRESHOLD - (1 - DENSE_WEIGHT)
    assert not any({0, 5} <= set(cluster.members) for cluster in clusters)


def test_fewer_questions_than_a_cluster_needs_give_none():
    assert clusters_find(np.array([axis(0), axis(0)]), [POEM, POEM]) == []
    assert clusters_find(np.zeros((0, 16), dtype=np.float32), []) == []


def test_the_same_input_gives_the_same_clusters():
    generator = np.random.default_rng(3)
    vectors = generator.normal(size=(60, 16)).astype(np.float32)
    vectors[:20] = vectors[0] + 0.1 * vectors[:20]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [APPLES.format(a=i, b=2) if i < 20 else f"第{i}题" for i in range(60)]

    assert clusters_find(vectors, texts) == clusters_find(vectors.copy(), list(texts))


def test_cluster_words_leave_the_numbers_out():
    assert cluster_words("小明有12个苹果，吃了5个") == ["小明", "有", "个", "苹果", "吃", "了", "个"]


def test_copies_of_one_exercise_with_other_numbers_count_as_recurring_however_their_embeddings_differ():
    texts = [AREA.format(a=a, b=2) for a in (3, 4, 5)] + ["计算：1+2", "计算：3+4", "计算：5+6"]
    vectors = np.array([axis(0), axis(5), axis(10), axis(1), axis(6), axis(11)])

    (cluster,) = clusters_find(vectors, texts)

    assert (cluster.members, cluster.centrality) == ([0, 1, 2], [1.0, 1.0, 1.0])  # "计算" alone is no exercise
