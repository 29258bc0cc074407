"""Evaluation: render genome x example into requests, score outputs, summarize failures."""
