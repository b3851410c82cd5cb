"""Matching quality on ../shared/eval: ours (dense + lexical + numbers) beside a plain BM25 baseline.

Run from the repository root (the first run encodes ~36,000 texts, a few minutes on 2 cores; vectors are then
cached under var/bench/matching)::

    .venv/bin/python -m bench.matching_quality [--model NAME_OR_PATH]

It prints:

- retrieval: for each of the 3,277 members of a question-type group (groups/chalkbase_archetypes.jsonl), searched
  in the whole corpus of 12,730 questions (all subjects in one index, itself left out), the share whose first
  result (top-1) or any of the first five (top-5) is another member of its group; for BM25 over character 1+2-grams,
  for the dense vectors alone, for ours ordered by score, and for ours as shown to the student (only what
  `rank` keeps);
- pairs: accuracy, precision and recall of the "same question" decision on LCQMC and PAWS-X (zh), ours through
  `rank` and BM25 (normalised score, threshold calibrated the same way), plus the best accuracy any threshold on
  the score reaches (how well the score separates, whatever the operating point);
- in-domain checks on the 600 cmath word problems: a reformatted copy (full-width, spaces, numbering) must be
  "same", a copy with one number changed or with 加/减, 多/少 swapped must not be;
- calibration: the thresholds that the eval data asks for now (precision of "same" >= 0.95 on both pair sets
  together, the best split of shown/not shown on the groups) beside the constants in matching/ranking.py. After
  pointing the encoder at another model, copy them there.

docs/matching-calibration.md keeps the figures of the last calibration and the reasons for each constant.
"""
