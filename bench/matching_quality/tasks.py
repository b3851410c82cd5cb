"""The retrieval tasks, built from ../shared/eval as students meet matching: one library, a query, the answer(s).

- paraphrase: the library holds every distinct second question of the LCQMC dev pairs (hard negatives included)
  and the maths corpora as background; each first question of a positive pair is a query (unless its own text is in
  the library), its positive partners the answers.
- reworded: each cmath word problem, changed the way a student or a photo changes it (an irrelevant sentence
  inserted, clauses reordered, numbers written as words or as digits, OCR-like noise), searched among all the
  corpora; the original (and any copy of its text) is the answer.
- groups: each member of a question-type group (chalkbase archetypes) searched among all the corpora, itself left
  out; the other members are the answers.
- unrelated: the paraphrase queries among the maths corpora alone, where nothing answers them.

A library entry's number is its index in `Task.library`; texts are kept as written (matching normalises them).
"""

import random
import re
from collections import defaultdict
from dataclasses import dataclass

from bench.matching_quality.data import Question, corpus_load, groups_load, pairs_load
from matching.numbers import chinese_numeral_value
from matching.text import normalise

_IRRELEVANT = ("家里有3只小猫。", "今天下雨了。", "这道题我想了很久。", "妈妈让我认真做作业。", "我们班有45个同学。")
_FULL_WIDTH = str.maketrans({chr(code): chr(code + 0xFEE0) for code in range(0x21, 0x7F)})
_OCR_PUNCTUATION = str.maketrans({"，": ",", "。": ".", "：": ":", "？": "?", "（": "(", "）": ")", "！": "!"})
_INTEGER = re.compile(r"(?<![\d./])\d{1,8}(?![\d./%])")
# A numeral before a measure word is a quantity (三只, 二十五个); elsewhere it may be a word (三角形, 一共).
_NUMERAL_RUN = re.compile("[零〇一二两三四五六七八九十百千万]+(?=[个只本页元米人天次辆棵条张块岁支件箱盒瓶袋组倍])")
_NUMERAL_DIGITS = "零一二三四五六七八九"
_CLAUSE_END = re.compile(r"(?<=[，,。；;])")


@dataclass(frozen=True)
class Query:
    text: str
    answers: frozenset[int]  # library entries that answer it
    wrong: frozenset[int] | None = None  # entries known not to answer it; None: every entry but the answers
    itself: int | None = None  # the library entry that is the query itself, left out of its results
    kind: str = ""


@dataclass(frozen=True)
class Task:
    name: str
    library: list[Question]
    queries: list[Query]


def chinese_numeral(number: int) -> str:
    """How a number is read in Chinese: 7 -> 七, 15 -> 十五, 77 -> 七十七, 105 -> 一百零五, 2030 -> 二千零三十."""
    if number == 0:
        return "零"
    if number >= 10_000:
        high, low = divmod(number, 10_000)
        rest = chinese_numeral(low) if low else ""
        return chinese_numeral(high) + "万" + ("零" + rest if rest and low < 1000 else rest)
    parts, zero = [], False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, number = divmod(number, unit)
        if digit:
            if zero:
                parts.append("零")
            parts.append(_NUMERAL_DIGITS[digit] + name)
            zero = False
        elif parts:
            zero = True
    text = "".join(parts)
    return text[1:] if text.startswith("一十") else text


def _numerals_to_digits(text: str) -> str:
    return _NUMERAL_RUN.sub(lambda found: str(chinese_numeral_value(found.group())), text)


def rewordings(text: str, rng: random.Random) -> dict[str, str]:
    """The reworded copies of one question; a kind the text does not allow (one clause, no number) is left out."""
    made = {}
    clauses = _CLAUSE_END.split(text)
    first = rng.randrange(len(clauses)) if len(clauses) > 1 else 0
    made["irrelevant sentence"] = "".join([*clauses[:first], rng.choice(_IRRELEVANT), *clauses[first:]])
    if len(clauses) >= 3:
        # Two clauses before the question swap places; the question stays last.
        swap = rng.randrange(len(clauses) - 2)
        left, right = clauses[swap].rstrip("，,"), clauses[swap + 1].rstrip("，,")
        reordered = [*clauses[:swap], right + "，", left + "，", *clauses[swap + 2 :]]
        made["clauses reordered"] = "".join(reordered)
    if _INTEGER.search(text):
        made["numbers as words"] = _INTEGER.sub(lambda found: chinese_numeral(int(found.group())), text)
    elif _NUMERAL_RUN.search(text):
        made["numbers as digits"] = _numerals_to_digits(text)
    noisy = "".join(character + (" " if rng.random() < 0.25 else "") for character in text)
    made["OCR-like noise"] = noisy.translate(_FULL_WIDTH).translate(_OCR_PUNCTUATION)
    return made


def _key(text: str) -> str:
    """What makes two texts copies: the normalised text without punctuation."""
    return "".join(character for character in normalise(text) if character.isalnum())


def _copies(library: list[Question]) -> dict[str, frozenset[int]]:
    """Copy key -> the library entries with that text."""
    found: dict[str, set[int]] = defaultdict(set)
    for number, question in enumerate(library):
        found[_key(question.text)].add(number)
    return {text: frozenset(numbers) for text, numbers in found.items()}


def _components(edges: list[tuple[str, str]]) -> dict[str, str]:
    """Text -> a representative of its connected component (union-find over the edges)."""
    parent: dict[str, str] = {}

    def root(text: str) -> str:
        parent.setdefault(text, text)
        while parent[text] != text:
            parent[text] = parent[parent[text]]
            text = parent[text]
        return text

    for first, second in edges:
        parent[root(first)] = root(second)
    return {text: root(text) for text in list(parent)}


def paraphrase_task(corpus: list[Question]) -> Task:
    """LCQMC labels one pair at a time: a paraphrase of a paraphrase is a paraphrase too (the positive pairs' connected
    component answers a query), and the texts labelled different from the query are known wrong; any other text of
    the library is not judged (precision is printed over all decisions and over the judged ones)."""
    pairs = pairs_load("lcqmc_valid")
    seconds = list(dict.fromkeys(pair.second for pair in pairs))
    library = [Question(f"lcqmc-b-{n}", "lcqmc", "all", 0, text) for n, text in enumerate(seconds)] + corpus
    copies = _copies(library)
    component = _components([(_key(pair.first), _key(pair.second)) for pair in pairs if pair.same])
    members: dict[str, set[int]] = defaultdict(set)
    for key, root in component.items():
        members[root].update(copies.get(key, ()))
    wrong: dict[str, set[int]] = defaultdict(set)
    for pair in pairs:
        if not pair.same:
            wrong[pair.first].update(copies[_key(pair.second)])
    firsts = dict.fromkeys(pair.first for pair in pairs if pair.same)
    queries = [
        Query(first, frozenset(members[component[_key(first)]]), wrong=frozenset(wrong[first]), kind="LCQMC positive")
        for first in firsts
        if _key(first) not in copies
    ]
    return Task("paraphrase", library, queries)


def reworded_task(corpus: list[Question]) -> Task:
    copies = _copies(corpus)
    queries = []
    for number, question in enumerate(corpus):
        if question.source == "cmath":
            rng = random.Random(question.id)
            answers = copies[_key(question.text)] | {number}
            queries.extend(Query(text, answers, kind=kind) for kind, text in rewordings(question.text, rng).items())
    return Task("reworded", corpus, queries)


def groups_task(corpus: list[Question]) -> Task:
    """A copy of the query's text (another id) answers it too; members of other groups are known wrong, questions
    in no group are not judged."""
    group_of = groups_load()
    copies = _copies(corpus)
    members: dict[str, set[int]] = defaultdict(set)
    for number, question in enumerate(corpus):
        if question.id in group_of:
            members[group_of[question.id]].add(number)
    grouped = frozenset(number for group in members.values() for number in group)
    queries = []
    for group in members.values():
        for number in sorted(group):
            answers = (group | copies[_key(corpus[number].text)]) - {number}
            if answers:
                queries.append(
                    Query(
                        corpus[number].text, frozenset(answers), grouped - answers, itself=number, kind="group member"
                    )
                )
    return Task("groups", corpus, queries)


def unrelated_task(paraphrase: Task, corpus: list[Question]) -> Task:
    """The paraphrase queries (open-domain questions) among the maths background alone: nothing answers them, so
    anything shown is a wrong answer; what keeps the "similar" threshold from showing something for every query."""
    return Task(
        "unrelated", corpus, [Query(query.text, frozenset(), kind="open-domain") for query in paraphrase.queries]
    )


def tasks_load() -> list[Task]:
    corpus = corpus_load()
    paraphrase = paraphrase_task(corpus)
    return [paraphrase, reworded_task(corpus), groups_task(corpus), unrelated_task(paraphrase, corpus)]
