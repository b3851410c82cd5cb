import asyncio

import pytest

from tutoring.core.errors import ServiceError
from tutoring.sessions.transport import LogWriter, TokenBucket, VoiceBuffer

FRAME = b"\x01\x00" * 1600  # 100 ms of 16 kHz mono PCM


def test_the_token_bucket_allows_a_burst_of_twice_the_rate_then_the_rate():
    bucket = TokenBucket(rate=5)

    burst = [bucket.take() for _ in range(11)]

    assert burst == [True] * 10 + [False]


def test_voice_is_saved_in_chunks_of_two_seconds_and_a_pause_starts_a_new_one():
    voice = VoiceBuffer()

    ready = [chunk for at in range(100, 2300, 100) for chunk in voice.add(at, FRAME)]
    after_pause = voice.add(5000, FRAME)

    assert [(start, len(pcm)) for start, pcm in ready] == [(0, 20 * len(FRAME))]
    assert [(start, len(pcm)) for start, pcm in after_pause] == [(2000, 2 * len(FRAME))]
    assert voice.take() == (4900, FRAME)


@pytest.mark.asyncio
async def test_the_log_writer_stores_what_arrives_meanwhile_in_one_batch_in_order():
    batches: list[list[str]] = []

    def append(messages: list[str]) -> list[object]:
        batches.append(list(messages))
        return [
            {"seq": number} if message != "bad" else ServiceError("x", "refused")
            for number, message in enumerate(messages, start=1)
        ]

    writer = LogWriter(append)
    outcomes = await asyncio.gather(*(writer.submit(message) for message in ["a", "bad", "c"]))

    assert batches == [["a", "bad", "c"]]
    assert [outcome if isinstance(outcome, dict) else outcome.code for outcome in outcomes] == [
        {"seq": 1},
        "x",
        {"seq": 3},
    ]
