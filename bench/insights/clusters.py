"""Hot clusters (issue 14): their quality on the eval data's question-type groups, and a week of 100,000 questions
clustered through the real code on PostgreSQL, with the time and the memory it takes.

Run from the repository root::

    .venv/bin/python -m bench.insights.clusters [--questions 100000] [--keep]

1. Quality: the 3,277 exercises of ``../shared/eval/groups/chalkbase_archetypes.jsonl`` (967 groups of one question
   type each, weak machine-built labels, 482 of them pairs) encoded with the default model and clustered by
   ``matching.clustering.clusters_find``. For each method: purity (the share of clustered questions whose cluster's
   commonest group is theirs), the adjusted Rand index against the groups (each unclustered question a cluster of
   its own) and the share left unclustered. Ours with the shipped constants (clusters of at least 3, as the
   product shows them, and of at least 2, as most labelled groups are); ours with the weight and threshold chosen
   on the other half of the groups (held out); embeddings only, words only and density clustering (DBSCAN over the
   same graph, the outlier-prone family BERTopic uses), each at its best threshold on the whole data (a generous
   baseline).
2. A week: the scratch database ``xuewen_bench_clusters`` (recreated; ``--keep`` leaves it) gets a city of 50
   schools and 20,000 students and 100,000 questions of one week with stored embeddings, as matching stores them:
   the eval corpora's 12,730 questions as the exercises, drawn with a Zipf popularity (a few asked thousands of
   times, most once), half of the copies with other numbers, subjects and grades from the corpora (gaokao's by its
   subject). Each exercise drawn is encoded once with the default model; its copies get that vector with a little noise
   (cosine about 0.98 to it: the embeddings barely see numbers). Then ``tutoring.insights.clusters.clusters_build``
   runs in a fresh process, which prints its wall time and its peak resident memory (the target is 5 minutes).
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score

from bench.matching_quality.tables import table
from bench.postgres import POSTGRES_URL, database_drop, database_recreate
from matching import clustering
from matching.encoder import DEFAULT_MODEL, encoder_get

EVAL = Path(__file__).resolve().parents[2].parent / "shared" / "eval"
DATABASE = "xuewen_bench_clusters"
TARGET_SECONDS = 300
WEEK = date(2026, 11, 2)  # a Monday
ZONE = ZoneInfo("Asia/Shanghai")
SCHOOLS, STUDENTS = 50, 20_000
COPY_NOISE = 0.0091  # per dimension of 512: a copy's vector is about 0.98 alike to its exercise's
GAOKAO_SUBJECTS = {
    "Math": ("math", 9),
    "Chinese": ("chinese", 9),
    "English": ("english", 9),
    "Physics": ("physics", 9),
    "Chemistry": ("chemistry", 9),
    "Biology": ("biology", 8),
    "History": ("history", 9),
    "Geography": ("geography", 8),
    "Political": ("ethics", 9),
}
NUMBER = re.compile(r"\d+")


def groups_load() -> tuple[list[str], list[int]]:
    texts, labels = [], []
    with (EVAL / "groups" / "chalkbase_archetypes.jsonl").open(encoding="utf-8") as file:
        for number, line in enumerate(file):
            for member in json.loads(line)["members"]:
                texts.append(member["text"])
                labels.append(number)
    return texts, labels


def normalised(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def labels_of(found: Sequence[clustering.Cluster], count: int) -> np.ndarray:
    labels = np.full(count, -1)
    for number, cluster in enumerate(found):
        labels[cluster.members] = number
    return labels


def scores(labels: np.ndarray, truth: Sequence[int]) -> tuple[float, float, float, int]:
    """Purity, adjusted Rand index (the unclustered each alone), unclustered share, clusters."""
    truth_array = np.asarray(truth)
    clustered = labels >= 0
    agreeing = sum(
        Counter(truth_array[labels == label].tolist()).most_common(1)[0][1] for label in set(labels[clustered])
    )
    alone = labels.copy()
    alone[~clustered] = labels.max() + 1 + np.arange(int((~clustered).sum()))
    return (
        agreeing / max(int(clustered.sum()), 1),
        float(adjusted_rand_score(truth_array, alone)),
        1 - float(clustered.mean()),
        len(set(labels[clustered])),
    )


def ours(vectors: np.ndarray, texts: Sequence[str], **constants: float) -> np.ndarray:
    return labels_of(clustering.clusters_find(vectors, texts, **constants), len(texts))  # type: ignore[arg-type]


def density(vectors: np.ndarray, texts: Sequence[str], threshold: float) -> np.ndarray:
    """DBSCAN over the same neighbour graph and similarity: a point with a neighbour at least ``threshold`` alike is
    a core point, and clusters grow through chains of core points."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    lexical = sp.csr_matrix(TfidfVectorizer(analyzer=clustering.cluster_words, sublinear_tf=True).fit_transform(texts))
    similarity = clustering.similarities(vectors, lexical, clustering.DENSE_WEIGHT)
    distances = sp.csr_matrix(np.where(similarity >= threshold, np.clip(1 - similarity, 1e-6, None), 0))
    return DBSCAN(eps=1 - threshold, min_samples=2, metric="precomputed").fit(distances).labels_


def best(results: list[tuple[float, tuple[float, float, float, int]]]) -> tuple[float, tuple[float, float, float, int]]:
    return max(results, key=lambda result: result[1][1])


def quality() -> None:
    texts, truth = groups_load()
    started = time.perf_counter()
    vectors = normalised(np.asarray(encoder_get(DEFAULT_MODEL).encode(texts)))
    print(f"Encoded the {len(texts):,} eval exercises in {time.perf_counter() - started:.0f} s.")
    grid = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    rows: list[list[object]] = []
    for name, min_size in (("ours (shipped), clusters of 3 or more", 3), ("ours (shipped), clusters of 2 or more", 2)):
        rows.append([name, *scores(ours(vectors, texts, min_size=min_size), truth)])
    rows.extend(held_out(vectors, texts, truth))
    for name, weight in (("embeddings only", 1.0), ("words only", 0.0)):
        threshold, figures = best(
            [(t, scores(ours(vectors, texts, dense_weight=weight, threshold=t, min_size=2), truth)) for t in grid]
        )
        rows.append([f"{name} (threshold {threshold}), 2 or more", *figures])
    threshold, figures = best([(t, scores(density(vectors, texts, t), truth)) for t in grid])
    rows.append([f"density, DBSCAN (threshold {threshold})", *figures])
    table(["method", "purity", "adjusted Rand", "unclustered", "clusters"], rows)


def held_out(vectors: np.ndarray, texts: Sequence[str], truth: Sequence[int]) -> list[list[object]]:
    """On each half of the groups (even and odd): ours with the shipped constants, and ours with the weight and
    threshold chosen by adjusted Rand on the other half; each method's figures averaged over the halves (clusters
    summed). Halves hold half the confusable questions, so compare these two rows with each other."""
    halves = [np.flatnonzero(np.asarray(truth) % 2 == parity) for parity in (0, 1)]
    shipped, chosen = [], []
    for tune, test in (halves, halves[::-1]):
        tune_texts, test_texts = [texts[i] for i in tune], [texts[i] for i in test]
        tune_truth, test_truth = [truth[i] for i in tune], [truth[i] for i in test]
        weight, threshold = max(
            ((w, t) for w in (0.5, 0.6, 0.7, 0.8) for t in (0.4, 0.45, 0.5, 0.55, 0.6)),
            key=lambda c: scores(
                ours(vectors[tune], tune_texts, dense_weight=c[0], threshold=c[1], min_size=2), tune_truth
            )[1],
        )
        test_vectors = vectors[test]
        shipped.append(scores(ours(test_vectors, test_texts, min_size=2), test_truth))
        chosen.append(
            scores(ours(test_vectors, test_texts, dense_weight=weight, threshold=threshold, min_size=2), test_truth)
        )
    return [
        [name, *(float(np.mean([m[i] for m in measured])) for i in range(3)), sum(m[3] for m in measured)]
        for name, measured in (
            ("ours (shipped) on each half, 2 or more", shipped),
            ("ours, constants chosen on the other half", chosen),
        )
    ]


def exercises() -> list[tuple[str, str, int]]:
    """(text, subject code, grade) of every eval corpus question, gaokao's by its subject."""
    found = []
    generator = random.Random(5)
    for name in ("cmath", "tal_scq5k_cn", "gaokao_bench", "chalkbase_exercises"):
        with (EVAL / "corpus" / f"{name}.jsonl").open(encoding="utf-8") as file:
            for line in file:
                record = json.loads(line)
                grade_text = record.get("grade") or ""
                digits = re.search(r"(\d)年级", grade_text)
                if name == "gaokao_bench":
                    subject = next((v for k, v in GAOKAO_SUBJECTS.items() if record["subject"].startswith(k)), None)
                    if subject is None:
                        continue
                    found.append((record["text"], *subject))
                else:
                    grade = int(digits.group(1)) if digits else generator.randint(4, 6)
                    found.append((record["text"], "math", grade))
    return found


def database_url() -> str:
    return f"{POSTGRES_URL}/{DATABASE}"


def django_environment() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": database_url(),
        "LOG_LEVEL": "WARNING",
    }


def week_seed(count: int) -> dict[str, object]:
    """The scratch database with a city and a week of ``count`` questions with stored vectors."""
    started = time.perf_counter()
    database_recreate(DATABASE)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"],
        env=django_environment(),
        check=True,
        capture_output=True,
    )
    os.environ.update(django_environment())
    import django

    django.setup()
    from tutoring.accounts.models import StudentProfile, User
    from tutoring.library.index import VECTOR_DTYPE, model_name
    from tutoring.questions.models import Question
    from tutoring.schools.models import City, District, School, Subject

    city = City.objects.create(name="基准市")
    districts = District.objects.bulk_create(District(city=city, name=f"第{n}区") for n in range(5))
    schools = School.objects.bulk_create(
        School(district=districts[n % 5], name=f"第{n}学校", stage=School.Stage.NINE_YEAR) for n in range(SCHOOLS)
    )
    users = User.objects.bulk_create(
        User(username=f"s{n}", password="!", role=User.Role.STUDENT, display_name=f"学生{n}") for n in range(STUDENTS)
    )
    generator = random.Random(11)
    found = exercises()
    popularity = 1 / np.arange(1, len(found) + 1)
    order = np.random.default_rng(7).permutation(len(found))
    drawn = np.random.default_rng(8).choice(order, size=count, p=popularity / popularity.sum())
    distinct = sorted(set(drawn.tolist()))
    started_encoding = time.perf_counter()
    encoded = normalised(np.asarray(encoder_get(DEFAULT_MODEL).encode([found[i][0] for i in distinct])))
    base = dict(zip(distinct, encoded, strict=True))
    encoding = time.perf_counter() - started_encoding
    subjects = {subject.code: subject for subject in Subject.objects.all()}
    students_by_grade: dict[int, list[int]] = {}
    profiles = []
    for n, user in enumerate(users):
        grade = 1 + n % 9
        profiles.append(StudentProfile(user=user, school=schools[n % SCHOOLS], grade=grade))
        students_by_grade.setdefault(grade, []).append(user.pk)
    StudentProfile.objects.bulk_create(profiles)
    noise = np.random.default_rng(9)
    monday = datetime.combine(WEEK, datetime.min.time(), tzinfo=ZONE)
    model = model_name()
    batch = []
    for position, exercise in enumerate(drawn):
        text, code, grade = found[int(exercise)]
        if generator.random() < 0.5:
            text = NUMBER.sub(lambda _: str(generator.randint(2, 99)), text)
        vector = base[int(exercise)] + noise.normal(0, COPY_NOISE, encoded.shape[1]).astype(np.float32)
        vector /= np.linalg.norm(vector)
        batch.append(
            Question(
                student_id=generator.choice(students_by_grade[grade]),
                subject=subjects[code],
                grade=grade,
                idempotency_key=f"bench-{position}",
                status=Question.Status.RESOLVED,
                typed_text=text,
                text=text,
                understood_at=monday,
                vector=vector.astype(VECTOR_DTYPE).tobytes(),
                vector_model=model,
            )
        )
        if len(batch) == 5000:
            Question.objects.bulk_create(batch)
            batch = []
    Question.objects.bulk_create(batch)
    Question.objects.update(created_at=monday)  # then spread over the week, by id
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE questions_question SET created_at = created_at + (id % 604800) * interval '1 second'")
    return {
        "seconds": time.perf_counter() - started,
        "encoding": encoding,
        "exercises": len(found),
        "distinct_drawn": len(distinct),
    }


def memory_mib(field: str) -> float:
    """This process's resident memory (VmRSS) or its peak since it started (VmHWM; ``ru_maxrss`` would count the
    parent's pages from before the exec), in MiB."""
    status = Path("/proc/self/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    assert found is not None
    return int(found.group(1)) / 1024


def week_run() -> None:
    """In a fresh process: cluster the week and print the figures as JSON."""
    import django

    django.setup()
    from tutoring.insights.clusters import clusters_build
    from tutoring.insights.models import HotCluster
    from tutoring.schools.models import City

    before = memory_mib("VmRSS")
    started = time.perf_counter()
    built = clusters_build(city=City.objects.get(name="基准市"), week=WEEK)
    seconds = time.perf_counter() - started
    peak = memory_mib("VmHWM")
    sizes = sorted((cluster.size for cluster in built), reverse=True)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mib": peak,
                "before_mib": before,
                "clusters": len(built),
                "shown": HotCluster.objects.filter(students__gte=5).count(),
                "clustered": sum(sizes),
                "largest": sizes[:5],
            }
        )
    )


def week(count: int, keep: bool) -> None:
    seeded = week_seed(count)
    print(
        f"Seeded a week of {count:,} questions in {seeded['seconds']:.0f} s: {seeded['distinct_drawn']:,} of the "
        f"{seeded['exercises']:,} exercises drawn, encoded in {seeded['encoding']:.0f} s."
    )
    ran = subprocess.run(
        [sys.executable, "-m", "bench.insights.clusters", "--week-run"],
        env=django_environment(),
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(ran.stdout.strip().splitlines()[-1])
    table(
        ["measure", "ours", "target"],
        [
            ["clustering a week (clusters_build), s", figures["seconds"], f"< {TARGET_SECONDS}"],
            ["peak resident memory of that process, MiB", figures["peak_mib"], ""],
            ["  resident before clustering (Django and the code loaded), MiB", figures["before_mib"], ""],
            ["clusters (subject × grade band)", figures["clusters"], ""],
            ["clusters shown (at least 5 students)", figures["shown"], ""],
            ["questions clustered", f"{figures['clustered']:,} of {count:,}", ""],
            ["largest clusters", ", ".join(f"{size:,}" for size in figures["largest"]), ""],
        ],
    )
    if not keep:
        database_drop(DATABASE)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.insights.clusters", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100_000, help="questions in the week")
    parser.add_argument("--keep", action="store_true", help=f"leave the database {DATABASE}")
    parser.add_argument("--quality-only", action="store_true", help="only the eval groups' figures")
    parser.add_argument("--week-only", action="store_true", help="only the week's time and memory")
    parser.add_argument("--week-run", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.week_run:
        week_run()
        return
    if not options.week_only:
        quality()
    if not options.quality_only:
        week(options.questions, options.keep)


if __name__ == "__main__":
    main()
