"""Live routing under load: students saying 还是不会 reach on-duty teachers, as in production.

Run from the repository root::

    .venv/bin/python -m bench.routing [--students 1000] [--teachers 100] [--capacity 10] [--rate 10]

It starts the platform on a scratch PostgreSQL database and Redis (two daphne processes, two Celery
workers for the ``default`` queue where dispatch runs, and beat), seeds the teachers (inside a shift) and the
students (each with an understood maths question), and drives them over real websockets and HTTP:

- every teacher opens the duty console (spread over both servers) and goes on duty;
- every student watches their question's socket, then taps 还是不会 (``POST .../feedback``), ``--rate`` a
  second in all;
- a teacher answers each offer after a random think time (``--think``), declining ``--decline`` of them, and
  finishes each student after a random answer time (``--answer``), freeing the place.

It prints p50/p99 from 还是不会 to the offer on a teacher's socket and from the teacher's accept to the
student's notice, each split into its hops where the database saw it (the request until the ticket is stored, the
broker and dispatch until the offer is stored, then commit, channel layer and socket), offers and answers per
teacher (fairness), the CPU each process used during the load (in all, and in milliseconds per question routed:
还是不会, dispatch, offer, accept, the room, finish, positions, facts), and lost and double-assigned questions (both
must be 0; checked in the database). Then it opens ``--idle-sockets`` (10,000) idle student sockets on one daphne
process and prints the memory each costs and whether all stayed alive (it raises its own and its servers' open-file
limit to the hard limit, which must allow that many).
"""
