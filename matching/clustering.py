"""Groups of recurring questions: the week's questions of one subject and grade band that are asked again and again.

Two questions are alike by a blend of their sentence embeddings (paraphrases, other wordings) and their words
(jieba's segmentation, TF-IDF weighted over the texts clustered, numbers left out: the same exercise recurs with other
numbers): ``similarity = DENSE_WEIGHT · cos(embeddings) + (1 − DENSE_WEIGHT) · cos(TF-IDF)``. A cluster is a
complete-linkage group (scikit-learn's agglomerative clustering): every two of its questions are at least
``THRESHOLD`` alike, so a cluster never drifts from one topic to another through a chain of neighbours, the failure
of density clustering on short texts. Groups smaller than ``MIN_SIZE`` are left unclustered, and so are the
questions that recur nowhere: they are not hot.

Complete linkage needs every pair's similarity, so it runs inside the connected parts of the graph that joins each
question to those of its ``NEIGHBOURS`` nearest (FAISS, exact inner product) at least ``THRESHOLD`` alike: a cluster
can never span two parts (its members are pairwise alike), and a part is small next to the week.

The constants were chosen on the eval data's question-type groups (``python -m bench.insights.clusters --quality-only``
prints purity, adjusted Rand index and the unclustered share beside embeddings-only and words-only clustering).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import faiss
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

from matching.lexical_index import words

DENSE_WEIGHT = 0.7
THRESHOLD = 0.5
NEIGHBOURS = 20
MIN_SIZE = 3
TERMS = 4  # the words that name a cluster
# Words every kind of question uses: never the name of a cluster (they still count in the similarity).
QUESTION_WORDS = frozenset(
    {
        "一个",
        "一些",
        "多少",
        "几个",
        "什么",
        "为什么",
        "怎么",
        "怎样",
        "如何",
        "哪些",
        "哪个",
        "我们",
        "你们",
        "他们",
        "这个",
        "那个",
        "这些",
        "下面",
        "如果",
        "已知",
        "那么",
        "可以",
        "需要",
        "问题",
        "求出",
        "请问",
        "等于",
        "是否",
    }
)
EXERCISE_WORDS = 4  # texts with fewer words than this besides numbers ("计算：…") are never taken for copies


@dataclass(frozen=True)
class Cluster:
    members: list[int]  # positions in the input, the most central first
    centrality: list[float]  # each member's mean similarity to the others
    terms: list[str]  # the cluster's most distinctive words


def cluster_words(text: str) -> list[str]:
    """The words clustering compares: jieba's segmentation, without the numbers (they change from one copy of an
    exercise to the next)."""
    return [word for word in words(text) if not any(character.isdigit() for character in word)]


def _parts(vectors: np.ndarray, lexical: sp.csr_matrix, *, threshold: float, dense_weight: float) -> np.ndarray:
    """The connected part of each question in the graph of near neighbours at least ``threshold`` alike."""
    count = len(vectors)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    dense, found = index.search(vectors, min(NEIGHBOURS + 1, count))
    rows = np.repeat(np.arange(count), found.shape[1])
    columns = found.ravel()
    kept = (columns >= 0) & (columns != rows)
    rows, columns, dense_scores = rows[kept], columns[kept], dense.ravel()[kept]
    lexical_scores = np.asarray(lexical[rows].multiply(lexical[columns]).sum(axis=1)).ravel()
    alike = dense_weight * dense_scores + (1 - dense_weight) * lexical_scores >= threshold
    graph = sp.coo_matrix((np.ones(alike.sum()), (rows[alike], columns[alike])), shape=(count, count))
    return connected_components(graph, directed=False)[1]


def similarities(vectors: np.ndarray, lexical: sp.csr_matrix, dense_weight: float) -> np.ndarray:
    dense = vectors @ vectors.T
    return dense_weight * dense + (1 - dense_weight) * (lexical @ lexical.T).toarray()


def _exercise_key(text: str) -> tuple[str, ...]:
    found = cluster_words(text)
    return tuple(found) if len(found) >= EXERCISE_WORDS else ("", text)


def _exercises(vectors: np.ndarray, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """The distinct exercises among the texts: texts with the same words (at least EXERCISE_WORDS of them) once
    their numbers are left out are one exercise (its copies are alike by definition), with the mean of their
    embeddings. Returns each text's exercise, the exercises' copies, texts and embeddings. A week's hot questions
    are thousands of copies of a few exercises: clustering exercises instead of copies keeps the pairwise work
    small."""
    keys: dict[tuple[str, ...], int] = {}
    exercise_of = np.array([keys.setdefault(_exercise_key(text), len(keys)) for text in texts])
    copies = np.bincount(exercise_of)
    sums = np.zeros((len(keys), vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, exercise_of, vectors)
    means = (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    first = np.unique(exercise_of, return_index=True)[1]
    return exercise_of, copies, [texts[position] for position in first], means


def _complete_linkage(similarity: np.ndarray, threshold: float) -> np.ndarray:
    if len(similarity) == 1:
        return np.zeros(1, dtype=int)
    return (
        AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="complete", distance_threshold=1 - threshold
        )
        .fit(np.clip(1 - similarity, 0, None))
        .labels_
    )


def clusters_find(
    vectors: np.ndarray,
    texts: Sequence[str],
    *,
    threshold: float = THRESHOLD,
    dense_weight: float = DENSE_WEIGHT,
    min_size: int = MIN_SIZE,
) -> list[Cluster]:
    """The clusters of recurring questions among texts and their L2-normalised embeddings (float32, one row each),
    largest first. Deterministic: the same input gives the same clusters."""
    if len(texts) < min_size:
        return []
    exercise_of, copies, exercise_texts, exercise_vectors = _exercises(
        np.ascontiguousarray(vectors, dtype=np.float32), texts
    )
    by_exercise = np.argsort(exercise_of, kind="stable")
    positions = [part.tolist() for part in np.split(by_exercise, np.cumsum(copies)[:-1])]
    vectorizer = TfidfVectorizer(analyzer=cluster_words, sublinear_tf=True)
    lexical = sp.csr_matrix(vectorizer.fit_transform(exercise_texts))
    vocabulary = vectorizer.get_feature_names_out()
    parts = _parts(exercise_vectors, lexical, threshold=threshold, dense_weight=dense_weight)
    found: list[Cluster] = []
    for part in np.flatnonzero(np.bincount(parts, weights=copies) >= min_size):
        exercises = np.flatnonzero(parts == part)
        similarity = similarities(exercise_vectors[exercises], lexical[exercises], dense_weight)
        labels = _complete_linkage(similarity, threshold)
        weight = copies[exercises]
        for label in np.flatnonzero(np.bincount(labels, weights=weight) >= min_size):
            inside = np.flatnonzero(labels == label)
            size = int(weight[inside].sum())
            # each copy's mean similarity to the cluster's other questions (its own other copies count 1)
            alike = similarity[np.ix_(inside, inside)] @ weight[inside] - 1
            centrality = alike / (size - 1)
            order = np.argsort(-centrality, kind="stable")
            weights = np.asarray(lexical[exercises[inside]].multiply(weight[inside][:, None]).sum(axis=0)).ravel()
            ranked = [str(vocabulary[i]) for i in np.argsort(-weights, kind="stable") if weights[i] > 0]
            members: list[int] = []
            scores: list[float] = []
            for i in order:
                copies_of = positions[exercises[inside[i]]]
                members.extend(copies_of)
                scores.extend([round(float(centrality[i]), 4)] * len(copies_of))
            found.append(
                Cluster(
                    members=members,
                    centrality=scores,
                    terms=[word for word in ranked if len(word) > 1 and word not in QUESTION_WORDS][:TERMS],
                )
            )
    found.sort(key=lambda cluster: (-len(cluster.members), cluster.members[0]))
    return found
