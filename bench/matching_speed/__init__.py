"""Matching speed: one match (encode + dense and lexical search + rerank), build, memory, at 100,000 and 1,000,000.

Run from the repository root::

    .venv/bin/python -m bench.matching_speed [--sizes 100000 1000000] [--queries 1000] [--encode-limit 101840]

Indexed questions are realistic text: every question of ../shared/eval/corpus (12,730, all subjects) again and
again with its numbers redrawn (same number of digits), its children's names swapped and, sometimes, 加/减 or
多/少 exchanged; each keeps its base question's subject and grade, so maths holds about five sixths of the store.

Encoding is the slow part: USE runs about 200-300 texts a second on 2 cores, so a million texts take about an
hour, far more than building the index. The bench therefore encodes at most `--encode-limit` distinct generated
texts (a multiple of the corpus size; cached under var/bench/matching after the first run) and gives text number
j the vector of text j mod limit, a sibling generated from the same base question with other numbers. It prints
build time without encoding (measured) and with encoding (measured throughput times the size, estimated).

For each size it prints: p50/p99 of one match through `matching.ranking.match` (the real encoder, store and
reranking, one query at a time, fresh generated questions searched in their subject and grade ±1), matches per
second, build time (and that of the lexical index alone, with the memory it holds), the store's memory
(resident memory it added) and the process peak, save/load time and file size, and recall@10 of the store's search
against exact search over the same vectors.

Then the same questions go through the database, as in production: the bench recreates the scratch PostgreSQL
database `xw_bench_matching` on the local server (127.0.0.1:5432, user postgres), migrates it (`manage.py migrate`),
COPYs the questions in as active library entries with their float16 vectors, the model's name and a ready worked
solution each (so all are searchable), runs VACUUM ANALYZE, and times the real `tutoring.library.index.
index_rebuild()` — what `manage.py rebuild_index` runs once every vector is stored — in a fresh process, with its
peak and final resident memory. Only those child processes set Django up (`DJANGO_SETTINGS_MODULE=config.settings`,
`DATABASE_URL` pointing at the scratch database); the database is dropped when the bench ends.
"""
