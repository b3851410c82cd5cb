"""Insights: a city's year in PostgreSQL, the rollups built and caught up, and the dashboard's latency (issue 14).

Run from the repository root::

    .venv/bin/python -m bench.insights [--scale 1] [--runs 30] [--budget 30] [--keep] [--rebuild] [--rollup-days N]

It recreates the scratch database ``xuewen_bench_insights`` on the local PostgreSQL (127.0.0.1:5432, user
postgres), migrates it, imports primary maths' knowledge points (``import_knowledge_points --chalkbase``) and
generates a city's year there (``bench/insights/seed.py``: ``INSERT ... SELECT`` over ``generate_series``, every
choice a hash of the question's id, then VACUUM ANALYZE). At scale 1, the year ending yesterday:

- one city, 10 districts, 150 schools; 600,000 students (4,000 a school, grades 1-9: about 17 questions a student
  a year, a few a week in term time for the keen ones, the activity skewed between students), 2,000 teachers
  (one subject and grade band each); 120 knowledge points for each subject and junior maths beside the 534 of
  primary maths; 200,000 answered questions in the library;
- 10,000,000 questions, by hour: school days quiet in lessons and busiest 18-22 h, days off spread over the day,
  weekends a little and holidays (winter, summer, national) much quieter; 60 % asked by photo, 30 % typed, 10 % by
  voice (the photo or clip as an attachment); 97 % understood; matched the same question (25 %), similar ones
  (35 %) or none; a match row and the student's feedback; solved by the library (60 % of same, 35 % of similar),
  else sent to a teacher (17 %): about 1,200,000 tickets with an offer, 83 % accepted after an exponential wait of
  mean 45 s, the rest cancelled; about 1,000,000 sessions, log-normal around 7 minutes, 70 % rated; one or two
  knowledge points on each matched question (the tagger's, or the answering teacher's), hot points more often.

Then, in this process (Django set up on that database, as in production: no debug, no refresh inside requests):

1. the year's rollups through the real code, ``tutoring.insights.rollups.rollup_day`` for each day (total, mean
   and longest day); at scale 1 that takes well over an hour here, so ``--rollup-days N`` rolls up only the
   year's last N days (at least 7) and fills the other days with copies of their rows (same weekday): the tables
   then hold a year's rows, so the requests cost what they would, but those days' figures are copies (said in
   the output);
2. the catch-up: one more day of questions (today, 1/365 of the year, with their facts) inserted with the rollup
   mark at the day's start, then ``insights_refresh`` timed (and ``changed_days`` alone: its share);
3. each insights request (the pages, every breakdown, a knowledge point, the heat map, the figures API, the CSV and
   XLSX exports, the drill-down) as a city staff member, a district administrator and a school administrator,
   through Django's test client: one warm-up then ``--runs`` timed runs (fewer if they pass ``--budget`` seconds,
   at least 3), p50 and p99 against the target p99 < 500 ms;
4. the rows and sizes of the fact and rollup tables.

Clustering a week of 100,000 questions (target < 5 minutes, with its memory) has its place in the output, to be
measured once ``tutoring.insights.clusters`` exists.

The database is dropped at the end; ``--keep`` leaves it, and a later ``--keep`` run at the same scale on the same
day reuses it (the added day is deleted first; the year's rollups are kept unless ``--rebuild``).
"""
