"""Stipends: a city's month of statements built from the facts, verified, and exported (issue 13).

Run from the repository root::

    .venv/bin/python -m bench.stipends [--sessions 1000000] [--teachers 2000] [--schools 150] [--keep | --reuse]

It recreates the scratch database ``xuewen_bench_stipends`` on the local PostgreSQL (127.0.0.1:5432, user
postgres), migrates it (``manage.py migrate``) and generates a city month there (``bench/stipends/seed.py``: COPY
on one connection per table, explicit ids, rows in time order so ids grow with time as in production, then
VACUUM ANALYZE), by default November 2026:

- one city, 10 districts, 150 schools; 2,000 teachers (user, profile with one subject and one grade band),
  100,000 students (user, profile), an administrator; the rule versions in force: the city's since October
  (as ``tests.factories.StipendRuleFactory``), three districts' and ten schools' own from November;
- duty presence: on about four weekdays in five and one weekend day in two each teacher goes on and off duty
  for an evening (2-4.5 hours), sometimes a late one past midnight, at weekends and some weekdays an
  afternoon too; now and then a second "went on duty" while on (a reconnecting console), ends marked silent;
- 1,000,000 sessions inside those stretches, each with its question, ticket (and its accepted and finished
  routing facts), the session row, STARTED, ENDED (98 %) and RATED (70 %) facts, **6 board or chat events and 2
  voice chunks** (`--events`, `--voice`; a stroke's data is a few points, as the ledger reads every one of these
  rows, this is the real cost); 2 % only the student used (flagged), 3 % under a minute (flagged), lengths
  log-normal around 7 minutes, so long pauses (left out) happen;
- 300 evening lectures with 10-1,500 viewers' joins (a few twice), an observer or two, most replays published;
  5 % of sessions published as library entries with the teacher's video (5 % with a second teacher's too);
  100,000 students saying 解决了 to those videos.

That is about 17 million rows (6 M events, 2.7 M session facts, 2.1 M routing facts, 2 M voice chunks, 1.1 M
questions, 1 M tickets and sessions); generating them takes about three minutes here.

Then, each in a fresh process (``bench/stipends/measure.py``) so that its memory is its own, it times:

- ``services.statements_build(month)``: the month's ledger anew from the facts, day by day, and every teacher's
  statement, as ``manage.py statements_build`` runs it; with the peak resident memory of the process (``VmHWM``,
  Django and everything included; Django alone is printed beside it) and the CPU seconds of the process and of
  the PostgreSQL backends serving it (the machine is shared: CPU time says what the build costs, whatever else
  takes the cores; the machine's load average is printed before each step);
- ``services.statements_verify(month)``, as ``manage.py stipends_verify`` runs it: every statement recomputed
  from the facts and compared figure by figure; it must find 0 differences;
- the city's XLSX export, ``tutoring.stipends.exports.city_month_xlsx(city, month)``: every school's totals and
  every teacher's days and summary rows, with its size in bytes.

Targets: statements for the city month in < 2 minutes and < 1 GiB, export < 30 s, verify equal. The database
is dropped at the end; ``--keep`` leaves it, and ``--reuse`` measures a kept one again (after VACUUM FULL of
what earlier builds left), for profiling: ``py-spy record --idle -o build.txt -f raw -- python -m
bench.stipends.measure build 2026-11`` with ``DATABASE_URL`` set to the scratch database.
"""
