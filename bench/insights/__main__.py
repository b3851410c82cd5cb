"""Run the insights bench; see the package docstring for what it measures and prints."""

import argparse
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from typing import Any

import psycopg

from bench.insights.seed import (
    FACT_TABLES,
    ZONE,
    City,
    indexes_drop,
    questions_insert,
    reference_load,
    sequences_advance,
    year_days,
)
from bench.matching_quality.tables import table
from bench.platform import process_cpu_seconds
from bench.postgres import POSTGRES_URL, database_drop, database_recreate


def database_name(scale: float) -> str:
    """``xuewen_bench_insights`` at scale 1, ``xuewen_bench_insights_0_01`` at 0.01: kept databases of different
    scales live side by side."""
    return "xuewen_bench_insights" + ("" if scale == 1 else "_" + f"{scale:g}".replace(".", "_"))


def url(database: str) -> str:
    return f"{POSTGRES_URL}/{database}"


CLUSTER_TARGET_SECONDS = 300


def environment(database: str) -> dict[str, str]:
    """Production-like: no debug, and no refresh inside the requests (beat refreshes the rollups there)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": url(database),
        "DATABASE_POOL_MAX_SIZE": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "LOG_LEVEL": "WARNING",
    }


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


def seeded(database: str, scale: float, last_day: date) -> dict[str, Any] | None:
    """What an earlier --keep run left for this scale and year, if anything."""
    try:
        with psycopg.connect(url(database)) as connection:
            row = connection.execute(
                "SELECT year_last_question, seed_seconds, rebuild_seconds, rebuild_days FROM bench.seed "
                "WHERE scale = %s AND last_day = %s",
                (scale, last_day),
            ).fetchone()
    except psycopg.Error:
        return None
    if row is None:
        return None
    return dict(zip(("year_last_question", "seed_seconds", "rebuild_seconds", "rebuild_days"), row, strict=True))


def seed(database: str, city: City, days: list[date]) -> dict[str, Any]:
    """A fresh database: migrated, primary maths' knowledge points imported, the city and its year."""
    started = time.perf_counter()
    database_recreate(database)
    for command in (["migrate", "--no-input"], ["import_knowledge_points", "--chalkbase"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], env=environment(database), check=True, capture_output=True
        )
    migrated = time.perf_counter()
    with psycopg.connect(url(database)) as connection:
        connection.execute("SET session_replication_role = replica")
        connection.execute("SET work_mem = '256MB'")
        connection.execute("SET maintenance_work_mem = '1GB'")
        reference_load(connection, city)
        connection.commit()
        referenced = time.perf_counter()
        remade = indexes_drop(connection)
        last = questions_insert(connection, city, days, 1, city.questions)
        generated = time.perf_counter()
        for statement in remade:
            connection.execute(statement)
        sequences_advance(connection)
        connection.commit()
    indexed = time.perf_counter()
    with psycopg.connect(url(database), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        analyzed = time.perf_counter()
        seconds = analyzed - started
        connection.execute(
            "INSERT INTO bench.seed (scale, last_day, year_last_question, seed_seconds) VALUES (%s, %s, %s, %s)",
            (city.scale, days[-1], last, seconds),
        )
    print(
        f"Seeded in {seconds:.0f} s: migrate + chalkbase import {migrated - started:.0f} s, "
        f"city {referenced - migrated:.0f} s, the year's questions and facts {generated - referenced:.0f} s, "
        f"their {len(remade)} secondary indexes {indexed - generated:.0f} s, VACUUM ANALYZE "
        f"{analyzed - indexed:.0f} s ({load()})"
    )
    return {"year_last_question": last, "seed_seconds": seconds}


def rows(connection: psycopg.Connection, tables: list[str]) -> list[tuple[str, str, str]]:
    listed = []
    for name in tables:
        count = connection.execute(f"SELECT count(*) FROM {name}").fetchone()
        size = connection.execute("SELECT pg_total_relation_size(%s)", (name,)).fetchone()
        assert count is not None and size is not None
        listed.append((name, f"{count[0]:,}", f"{size[0] / 1024**2:,.0f} MiB"))
    return listed


def rollup_tables(connection: psycopg.Connection) -> list[str]:
    """Every table of the insights app but the mark (whatever rollups its migrations have made)."""
    found = connection.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'insights\\_%' "
        "AND tablename <> 'insights_rollupmark' ORDER BY tablename"
    ).fetchall()
    return [name for (name,) in found]


# The day rollups a copy may fill (one-to-one rows, such as a session's rating comment, cannot be copied).
COPIED = (
    "insights_dayfigures",
    "insights_hourfigures",
    "insights_pointfigures",
    "insights_dayspread",
    "insights_studentday",
    "insights_districtdayfigures",
    "insights_districtpointfigures",
    "insights_districtdayspread",
    "insights_citydayfigures",
    "insights_cityhourfigures",
    "insights_citypointfigures",
    "insights_citydayspread",
)


def rollups_copy(connection: psycopg.Connection, rolled: list[date], others: list[date]) -> int:
    """Fill the days not rolled up with the rows of the rolled-up day of the same weekday (a bench shortcut where
    rolling up a whole year takes hours: the tables then hold a year's rows, so that reads cost what they would,
    but the figures of those days are copies); returns how many days were filled."""
    if not others:
        return 0
    by_weekday = {day.isoweekday(): day for day in rolled}
    if len(by_weekday) < 7:
        raise SystemExit("--rollup-days must be at least 7: each weekday is copied from a rolled-up one")
    sources = [by_weekday[day.isoweekday()] for day in others]
    for copied in (name for name in COPIED if name in rollup_tables(connection)):
        columns = [
            name
            for (name,) in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND column_name NOT IN ('id', 'day') ORDER BY ordinal_position",
                (copied,),
            ).fetchall()
        ]
        listed = ", ".join(columns)
        connection.execute(f"DELETE FROM {copied} WHERE day = ANY(%s)", (others,))
        connection.execute(
            f"INSERT INTO {copied} ({listed}, day) SELECT {listed}, copies.target FROM {copied} "
            "JOIN unnest(%s::date[], %s::date[]) AS copies(source, target) ON day = copies.source",
            (sources, others),
        )
    return len(others)


def day_delete(connection: psycopg.Connection, after: int) -> None:
    """The questions after the year (a new day an earlier --keep run added) with their facts."""
    connection.execute("SET session_replication_role = replica")
    for statement in (
        "DELETE FROM tutoring_sessions_tutoringsession WHERE question_id > %(q)s",
        "DELETE FROM routing_offer WHERE ticket_id IN (SELECT id FROM routing_ticket WHERE question_id > %(q)s)",
        "DELETE FROM routing_ticket WHERE question_id > %(q)s",
        "DELETE FROM library_feedback WHERE question_id > %(q)s",
        "DELETE FROM library_match WHERE question_id > %(q)s",
        "DELETE FROM questions_questionknowledgepoint WHERE question_id > %(q)s",
        "DELETE FROM questions_attachment WHERE question_id > %(q)s",
        "DELETE FROM questions_question WHERE id > %(q)s",
    ):
        connection.execute(statement, {"q": after})
    connection.commit()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.insights", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the city's year (1: 10,000,000 questions)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each request (after one warm-up)")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per request and viewer, at least 3 runs")
    parser.add_argument("--keep", action="store_true", help="leave the database; a later --keep run reuses it")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the rollups even when reusing")
    parser.add_argument(
        "--rollup-days",
        type=int,
        default=0,
        help="roll up only the year's last N days (at least 7) and fill the others with copies of their rows "
        "(0: every day)",
    )
    options = parser.parse_args()
    city = City(options.scale)
    new_day = date.today()
    days = year_days(new_day - timedelta(days=1))
    print(
        f"The city at scale {options.scale:g}: {city.questions:,} questions over {days[0]} .. {days[-1]}, "
        f"{city.students:,} students in 150 schools of 10 districts, {city.teachers:,} teachers; then "
        f"{city.questions // 365:,} more on {new_day}. Machine: {load()}.\n"
    )
    database = database_name(options.scale)
    kept = seeded(database, options.scale, days[-1]) if options.keep else None
    try:
        if kept is None:
            kept = seed(database, city, days)
            kept |= {"rebuild_seconds": None, "rebuild_days": None}
        else:
            print(f"Reusing {database} (seeded at this scale in {kept['seed_seconds']:.0f} s by an earlier run).")
            with psycopg.connect(url(database)) as connection:
                day_delete(connection, kept["year_last_question"])
        measured = measure(options, database, city, days, new_day, kept)
    finally:
        if not options.keep:
            database_drop(database)
    summary(options, measured)


def measure(
    options: argparse.Namespace, database: str, city: City, days: list[date], new_day: date, kept: dict[str, Any]
) -> dict[str, Any]:
    os.environ.update(environment(database))
    import django

    django.setup()
    from tutoring.insights import rollups
    from tutoring.insights.models import RollupMark

    measured: dict[str, Any] = {}
    # 1. The year's rollups, day by day through the real code.
    if kept["rebuild_seconds"] is None or options.rebuild:
        rolled = days[-options.rollup_days :] if options.rollup_days else days
        print(f"Rolling up {len(rolled)} days (rollups.rollup_day each; {load()}) ...")
        per_day: list[float] = []
        questions = 0
        cpu = process_cpu_seconds(os.getpid())
        for number, day in enumerate(rolled, start=1):
            before = time.perf_counter()
            questions += rollups.rollup_day(day)
            per_day.append(time.perf_counter() - before)
            if number % 30 == 0:
                print(f"  {number} days, {sum(per_day):.0f} s")
        midnight = datetime(new_day.year, new_day.month, new_day.day, tzinfo=ZONE)
        RollupMark.objects.update_or_create(name=rollups.MARK, defaults={"at": midnight})
        cpu = process_cpu_seconds(os.getpid()) - cpu
        before = time.perf_counter()
        with psycopg.connect(url(database), autocommit=True) as connection:
            copied = rollups_copy(connection, rolled, [day for day in days if day not in rolled])
            connection.execute("VACUUM ANALYZE " + ", ".join(rollup_tables(connection)))
        measured["rebuild"] = {
            "seconds": sum(per_day),
            "days": len(rolled),
            "questions": questions,
            "mean": sum(per_day) / len(rolled),
            "max": max(per_day),
            "cpu": cpu,
            "copied": copied,
            "copy_seconds": time.perf_counter() - before,
        }
    else:
        measured["rebuild"] = {"seconds": kept["rebuild_seconds"], "days": kept["rebuild_days"], "kept": True}
    with psycopg.connect(url(database), autocommit=True) as connection:
        connection.execute(
            "UPDATE bench.seed SET rebuild_seconds = %s, rebuild_days = %s WHERE scale = %s",
            (measured["rebuild"]["seconds"], measured["rebuild"]["days"], options.scale),
        )
    # 2. A day of new data, then the refresh beat runs each minute, from a mark at the day's start.
    midnight = datetime(new_day.year, new_day.month, new_day.day, tzinfo=ZONE)
    RollupMark.objects.update_or_create(name=rollups.MARK, defaults={"at": midnight})
    before = time.perf_counter()
    with psycopg.connect(url(database)) as connection:
        connection.execute("SET session_replication_role = replica")
        last = questions_insert(connection, city, [new_day], kept["year_last_question"] + 1, city.questions // 365)
        sequences_advance(connection)
        connection.commit()
    with psycopg.connect(url(database), autocommit=True) as connection:
        connection.execute("ANALYZE")
    inserted = time.perf_counter() - before
    print(f"Inserted {new_day}: {last - kept['year_last_question']:,} questions with their facts in {inserted:.0f} s")
    before = time.perf_counter()
    refreshed = rollups.insights_refresh()
    refreshing = time.perf_counter() - before
    before = time.perf_counter()
    changed = rollups.changed_days(midnight - rollups.OVERLAP)  # again, alone: its share of the refresh
    found = time.perf_counter() - before
    measured["catch_up"] = {
        "seconds": refreshing,
        "changed_days_seconds": found,
        "days": [day.isoformat() for day in refreshed],
        "questions": last - kept["year_last_question"],
        "changed": len(changed),
    }
    with psycopg.connect(url(database), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE " + ", ".join(rollup_tables(connection)))
        measured["facts"] = rows(connection, list(FACT_TABLES))
        measured["rollups"] = rows(connection, rollup_tables(connection))
    # 3. The requests.
    from bench.insights import dashboard
    from tutoring.insights.models import PointFigures

    point = (
        PointFigures.objects.filter(point__subject__code="math", day__gte=new_day - timedelta(days=89))
        .values_list("point__code", flat=True)
        .order_by("-asked")
        .first()
    )
    listed = dashboard.requests(new_day, point or "")
    print(f"Timing {len(listed)} requests x 3 viewers, {options.runs} runs each after a warm-up ({load()}) ...")
    results = []
    for request in listed:
        for viewer in dashboard.viewers():
            results.append(dashboard.timed(viewer, request, runs=options.runs, budget_seconds=options.budget))
    measured["requests"] = results
    measured["load"] = load()
    return measured


def summary(options: argparse.Namespace, measured: dict[str, Any]) -> None:
    from bench.insights.dashboard import TARGET_MS

    print(f"\n## Insights bench, scale {options.scale:g} ({measured['load']}; the machine is shared)\n")
    table(["table", "rows", "size"], measured["facts"] + measured["rollups"])
    rebuild = measured["rebuild"]
    if rebuild.get("kept"):
        print(
            f"Rollups of the year: kept from an earlier run ({rebuild['seconds']:.0f} s for {rebuild['days']} days "
            "then); --rebuild measures them again.\n"
        )
    else:
        print(
            f"Rollups (rollup_day for each of {rebuild['days']} days, {rebuild['questions']:,} questions): "
            f"{rebuild['seconds']:.0f} s in all, {rebuild['mean']:.2f} s a day on average, {rebuild['max']:.2f} s "
            f"the longest day; {rebuild['cpu']:.0f} CPU s in this process."
        )
        if rebuild["copied"]:
            print(
                f"The year's other {rebuild['copied']} days hold COPIES of those days' rollup rows (same weekday, "
                f"{rebuild['copy_seconds']:.0f} s): the tables are a year's size for the requests below, but those "
                f"days' figures are not their own. Rolling up the whole year would take about "
                f"{rebuild['mean'] * (rebuild['days'] + rebuild['copied']) / 60:.0f} minutes at this pace."
            )
        print()
    catch_up = measured["catch_up"]
    print(
        f"Catch-up after a day of new data ({catch_up['questions']:,} questions): insights_refresh took "
        f"{catch_up['seconds']:.1f} s and recomputed {len(catch_up['days'])} days ({', '.join(catch_up['days'])}); "
        f"of that, finding the changed days (changed_days) takes {catch_up['changed_days_seconds']:.1f} s.\n"
    )
    results = measured["requests"]
    table(
        ["request", "viewer", "status", "bytes", "runs", "p50 ms", "p99 ms", f"target p99 < {TARGET_MS} ms"],
        [
            (
                result["request"],
                result["viewer"],
                result["status"],
                f"{result['bytes']:,}",
                result["runs"],
                f"{result['p50']:.0f}",
                f"{result['p99']:.0f}",
                "met" if result["p99"] < TARGET_MS else "MISSED",
            )
            for result in results
        ],
    )
    print(
        "Clustering a week of 100,000 questions (tutoring.insights.clusters): not measured by this bench yet; "
        f"target < {CLUSTER_TARGET_SECONDS // 60} minutes, with its peak memory.\n"
    )
    missed = [result for result in results if result["p99"] >= TARGET_MS]
    print(
        f"Requests: {len(results) - len(missed)} of {len(results)} met p99 < {TARGET_MS} ms"
        + (f"; missed: {', '.join(sorted({result['request'] for result in missed}))}." if missed else ".")
    )


if __name__ == "__main__":
    main()
