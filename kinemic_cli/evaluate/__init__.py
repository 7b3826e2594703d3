"""Evaluation: the evaluator recogniser and generative metrics (:mod:`.evaluator`, :mod:`.metrics`) and the report."""
