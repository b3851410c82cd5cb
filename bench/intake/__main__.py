"""Run the intake bench; see the package docstring for what it measures and prints."""

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench import intake
from bench.intake.clients import TEXT_TIMEOUT_SECONDS, IntakeError, Student, Submission
from bench.intake.figures import edit_distance, normalized, percentile
from bench.intake.photos import FONT_PATH, photo_render
from bench.intake.platform import IntakePlatform
from bench.intake.seed import PASSWORD, student_username
from bench.platform import REPO

CORPUS = REPO.parent / "shared" / "eval" / "corpus" / "cmath.jsonl"
CER_TARGET = 0.02
TEXT_P50_TARGET_SECONDS = 3.0
SUBMIT_P99_TARGET_SECONDS = 0.1
ONE_SUBMITTER_REQUESTS = 20
GRADE = re.compile(r"小学(\d)年级")


@dataclass(frozen=True)
class Photo:
    reference: str
    grade: int
    jpeg: bytes


@dataclass(frozen=True)
class Reading:
    photo: Photo
    status: str
    text: str
    seconds: float

    @property
    def errors(self) -> int:
        return edit_distance(normalized(self.photo.reference), normalized(self.text))


@dataclass(frozen=True)
class Load:
    submissions: list[Submission]
    seconds: float
    stored: int

    @property
    def errors(self) -> int:
        return sum(submission.status_code != 202 for submission in self.submissions)


def grade_of(label: str) -> int:
    """The school year of a cmath grade label such as "小学3年级"."""
    match = GRADE.fullmatch(label)
    if match is None:
        raise ValueError(f"Not a primary-school grade: {label!r}")
    return int(match[1])


def photos_render(count: int, seed: int) -> list[Photo]:
    """``count`` cmath questions drawn with ``seed``, each photographed with its own seed."""
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen = random.Random(seed).sample(rows, count)
    return [
        Photo(row["text"], grade_of(row["grade"]), photo_render(row["text"], seed=seed * 100_000 + number))
        for number, row in enumerate(chosen)
    ]


async def students_login(base_url: str, count: int) -> list[Student]:
    students = [Student(base_url) for _ in range(count)]
    for number, student in enumerate(students):
        await student.login(student_username(number), PASSWORD)
    return students


async def photo_read(student: Student, photo: Photo) -> Reading:
    """Upload a photo and wait until its recognised text is shown; the time includes both."""
    started = time.perf_counter()
    submission = await student.submit(photo.jpeg, grade=photo.grade)
    if submission.status_code != 202:
        raise IntakeError(f"Upload answered HTTP {submission.status_code}")
    async with asyncio.timeout(TEXT_TIMEOUT_SECONDS):
        question = await student.settled_question(submission.question_id)
    return Reading(photo, question["status"], question["text"], time.perf_counter() - started)


async def load_run(
    platform: IntakePlatform, students: Sequence[Student], photos: Sequence[Photo], per_student: int
) -> Load:
    """Every student submits ``per_student`` photos back to back, all students at once."""

    async def submit_all(number: int, student: Student) -> list[Submission]:
        chosen = [photos[(number * per_student + k) % len(photos)] for k in range(per_student)]
        return [await student.submit(photo.jpeg, grade=photo.grade) for photo in chosen]

    started = time.perf_counter()
    results = await asyncio.gather(*(submit_all(number, student) for number, student in enumerate(students)))
    seconds = time.perf_counter() - started
    submissions = [submission for result in results for submission in result]
    return Load(submissions, seconds, platform.questions_stored([s.idempotency_key for s in submissions]))


async def steady_run(
    platform: IntakePlatform, students: Sequence[Student], photos: Sequence[Photo], rate: float, seconds: float
) -> Load:
    """Open loop: the students together submit ``rate`` photos a second (Poisson arrivals), each
    student waiting a random pause between its questions, for ``seconds``."""
    generator = random.Random(len(students) * 1000 + int(rate))
    per_student = rate / len(students)

    async def submit_steadily(number: int, student: Student) -> list[Submission]:
        done: list[Submission] = []
        while (pause := generator.expovariate(per_student)) < deadline - time.perf_counter():
            await asyncio.sleep(pause)
            photo = photos[(number + len(done)) % len(photos)]
            done.append(await student.submit(photo.jpeg, grade=photo.grade))
        return done

    deadline = time.perf_counter() + seconds
    results = await asyncio.gather(*(submit_steadily(number, s) for number, s in enumerate(students)))
    submissions = [submission for result in results for submission in result]
    return Load(submissions, seconds, platform.questions_stored([s.idempotency_key for s in submissions]))


def percentiles(seconds: Sequence[float], *, in_milliseconds: bool) -> str:
    shares = (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
    if in_milliseconds:
        return "  ".join(f"{name} {percentile(seconds, share) * 1000:.0f} ms" for name, share in shares)
    return "  ".join(f"{name} {percentile(seconds, share):.2f} s" for name, share in shares)


def load_print(title: str, load: Load) -> None:
    seconds = [submission.seconds for submission in load.submissions]
    print(f"\n{title}")
    mean = statistics.mean(seconds) * 1000
    print(f"  submit latency: {percentiles(seconds, in_milliseconds=True)}  mean {mean:.0f} ms")
    print(f"  {len(seconds)} requests in {load.seconds:.1f} s = {len(seconds) / load.seconds:.1f} requests/s")
    print(f"  HTTP errors: {load.errors}; in the database with their photo: {load.stored}/{len(seconds)}")


def readings_print(readings: Sequence[Reading]) -> float:
    """Print the OCR and upload-to-text figures; returns the character error rate."""
    reference_chars = sum(len(normalized(reading.photo.reference)) for reading in readings)
    rate = sum(reading.errors for reading in readings) / reference_chars
    seconds = [reading.seconds for reading in readings]
    statuses = {status: sum(r.status == status for r in readings) for status in sorted({r.status for r in readings})}
    print(f"\nUpload to recognised text shown, one photo at a time ({len(readings)} photos, one media worker)")
    print(f"  {percentiles(seconds, in_milliseconds=False)}  mean {statistics.mean(seconds):.2f} s")
    print(f"  statuses: {statuses}")
    print(f"\nOCR character error rate: {rate:.2%} ({sum(r.errors for r in readings)} edits / {reference_chars} chars)")
    print(f"  questions read without an error: {sum(r.errors == 0 for r in readings)}/{len(readings)}")
    worst = sorted(readings, key=lambda r: r.errors / max(1, len(r.photo.reference)), reverse=True)[:3]
    for reading in worst:
        if reading.errors:
            print(f"  {reading.errors} edits\n    reference:  {normalized(reading.photo.reference)}")
            print(f"    recognised: {normalized(reading.text)}")
    return rate


def submit_verdict(figure: str, load: Load) -> tuple[str, str, str, bool]:
    p99 = percentile([submission.seconds for submission in load.submissions], 99)
    return figure, f"{p99 * 1000:.0f} ms", "< 100 ms", p99 < SUBMIT_P99_TARGET_SECONDS


def verdicts_print(rows: Sequence[tuple[str, str, str, bool]]) -> None:
    print(f"\n{'figure':<52}{'measured':>10}  {'target':<10}result")
    for figure, measured, target, passed in rows:
        print(f"{figure:<52}{measured:>10}  {target:<10}{'PASS' if passed else 'FAIL'}")


async def bench(
    platform: IntakePlatform,
    photos: Sequence[Photo],
    submitters: int,
    per_student: int,
    rates: Sequence[float],
    steady_seconds: float,
) -> bool:
    """Run the measurements and print them; returns whether the platform lost or refused nothing."""
    reader, *load_students = await students_login(platform.base_url, submitters + 1)
    try:
        await reader.submit(photos[-1].jpeg, grade=photos[-1].grade)  # the first POST of a process sets up lazily
        one_submitter = await load_run(platform, [reader], photos, ONE_SUBMITTER_REQUESTS)
        steady = [await steady_run(platform, load_students, photos, rate, steady_seconds) for rate in rates]
        web_alone = await load_run(platform, load_students, photos, per_student)
        purged = platform.queue_purge("media")
        platform.media_worker_start()
        await photo_read(reader, photos[-1])  # loads the OCR models; not measured
        readings = [await photo_read(reader, photo) for photo in photos[:-1]]
        worker_busy = await load_run(platform, load_students, photos, per_student)
    finally:
        await asyncio.gather(*(student.close() for student in (reader, *load_students)))

    load_print(f"Submit, 1 submitter x {ONE_SUBMITTER_REQUESTS} photos back to back: no queueing", one_submitter)
    title = f"Submit, {submitters} concurrent submitters x {per_student} photos back to back, 1 web process"
    for rate, load in zip(rates, steady, strict=True):
        load_print(
            f"Submit, {submitters} concurrent submitters asking steadily, {rate:g} photos/s in all (Poisson), "
            "1 web process, media worker not running",
            load,
        )
    load_print(f"{title}, media worker not running ({purged} queued tasks dropped afterwards)", web_alone)
    load_print(f"{title}, media worker running OCR on the same cores", worker_busy)
    rate = readings_print(readings)
    text_p50 = percentile([reading.seconds for reading in readings], 50)
    verdicts_print(
        [
            ("OCR character error rate", f"{rate:.2%}", "< 2 %", rate < CER_TARGET),
            ("upload to recognised text, p50", f"{text_p50:.2f} s", "< 3 s", text_p50 < TEXT_P50_TARGET_SECONDS),
            *(
                submit_verdict(f"submit p99, {submitters} submitters at {rate:g}/s in all", load)
                for rate, load in zip(rates, steady, strict=True)
            ),
            submit_verdict(f"submit p99, {submitters} back to back (saturation)", web_alone),
            submit_verdict(f"submit p99, {submitters} back to back, worker busy", worker_busy),
        ]
    )
    loads = (one_submitter, web_alone, worker_busy, *steady)
    return all(load.errors == 0 and load.stored == len(load.submissions) for load in loads)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.intake", description=intake.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=int, default=40, help="photos read one at a time for CER and latency")
    parser.add_argument("--submitters", type=int, default=50, help="concurrent students in the submit phases")
    parser.add_argument("--per-submitter", type=int, default=4, help="photos each submitter sends back to back")
    parser.add_argument(
        "--rates", type=float, nargs="+", default=[2, 5, 10, 20], help="steady phases: photos a second, all submitters"
    )
    parser.add_argument("--steady-seconds", type=float, default=20, help="length of each steady phase")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop like Ctrl-C: clean up what was started

    started = time.perf_counter()
    photos = photos_render(options.photos + 1, options.seed)
    sizes = [len(photo.jpeg) / 1024 for photo in photos]
    seconds = time.perf_counter() - started
    print(f"Rendered {len(photos)} photos of cmath questions (seed {options.seed}) in {seconds:.0f} s")
    print(f"  font {FONT_PATH.name}; JPEG {min(sizes):.0f}-{max(sizes):.0f} KiB, mean {statistics.mean(sizes):.0f} KiB")
    print(f"  machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the bench")
    pool = os.environ.get("DATABASE_POOL_MAX_SIZE", "0")
    print("  web: 1 daphne process (python -m config.web); media worker: 1 Celery process (solo pool)")
    print(f"  DATABASE_POOL_MAX_SIZE={pool}")
    with IntakePlatform(students=options.submitters + 1) as platform:
        try:
            intact = asyncio.run(
                bench(
                    platform, photos, options.submitters, options.per_submitter, options.rates, options.steady_seconds
                )
            )
        except IntakeError:
            print(platform.logs(), file=sys.stderr)
            raise
    print(f"\nLoad average after the bench: {os.getloadavg()[0]:.1f} (anything above ~2 competed for the 2 cores)")
    if not intact:
        print("\nThe platform refused or lost questions: see the HTTP errors and database counts above.")
    return 0 if intact else 1


if __name__ == "__main__":
    sys.exit(main())
