"""Scratch databases on the local PostgreSQL server (the one the tests use), created and dropped by benchmarks."""

import psycopg

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432"


def database_recreate(name: str) -> None:
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def database_drop(name: str) -> None:
    with psycopg.connect(f"{POSTGRES_URL}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
