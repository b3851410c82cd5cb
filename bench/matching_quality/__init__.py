"""Matching quality on ../shared/eval, measured the way students meet it: ours beside plain BM25 over jieba words.

Run from the repository root (the first run encodes ~35,000 distinct texts: about 3 minutes on 2 cores with USE, 25
with multilingual-e5-small; each text's vector is then cached under var/bench/matching, keyed by the model and the
normalised text)::

    .venv/bin/python -m bench.matching_quality [--model NAME_OR_PATH]

`--model` takes what the encoder setting takes (matching/encoder.py): the default (USE), `multilingual-e5-small`,
a model folder, or models joined by `+` (`universal-sentence-encoder-multilingual-3+multilingual-e5-small`).

It prints, for each retrieval task (bench/matching_quality/tasks.py: paraphrase, reworded, groups, unrelated), top-1,
top-5 and the share shown nothing for BM25 over jieba words (bm25s, the whole library), the dense vectors alone and
ours as shown to the student (`matching.ranking.candidates` then `rank`, the real code); "same" is decided as at run
time, for the best candidate of the whole library, with how often it is said and its precision (also over the
decisions whose truth the data knows: LCQMC labels only some pairs), then the "same" decisions the labels call
wrong, both texts, to be read by hand. The reworded task is broken down by kind.

Then: cmath problems with one number or operator changed must never be "same"; the "same" decision on isolated
LCQMC and PAWS-X pairs; the targets of issue 17 with whether each is met; and the calibration: the constants of
matching/ranking.py that the tasks ask for now, beside those in code (replayed on the candidates the run kept).

docs/matching-calibration.md keeps the figures of the last calibration and the reasons for each constant.
"""
