"""Intake bench: photos of questions, from upload to recognised text, and submit latency under load.

Run from the repository root (PostgreSQL and Redis on 127.0.0.1, the eval data in ``../shared/eval``)::

    .venv/bin/python -m bench.intake [--photos 40] [--submitters 50] [--per-submitter 4] [--rates 2 5 10 20]
                                     [--steady-seconds 20] [--seed 1]

It renders photo-like JPEGs of cmath questions (Noto Sans CJK on paper, tilted, in perspective, unevenly
lit, blurred, noised, JPEG-compressed), then starts the platform as in production on this machine: a fresh
PostgreSQL database ``xuewen_bench_intake``, Redis database 5, one daphne process and one Celery worker
process for the ``media`` queue. It prints:

- submit latency (send to 202) for one submitter; for ``--submitters`` concurrent students asking
  steadily, together ``--rates`` photos a second (Poisson arrivals: how students really submit); and for
  the same students each sending ``--per-submitter`` photos back to back with no pause (saturation: the
  latency is then the queue, students x service time), with the media worker stopped (web tier alone, as
  in production where workers run elsewhere) and running OCR on the same cores; requests/s, HTTP errors
  and how many questions reached the database;
- seconds from upload to recognised text shown on the question's websocket, one photo at a time;
- the OCR character error rate against the source text (NFKC, whitespace removed), with the worst cases;
- a table of these figures against the targets (CER < 2 %, upload-to-text p50 < 3 s, submit p99 < 100 ms).

It exits 0 whatever the figures, and 1 when the platform refused or lost a question. Everything it
started or created (processes, database, Redis keys, temporary folder) is removed when it stops.
"""
