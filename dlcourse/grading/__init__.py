"""Instructor tools: release student versions of the notebooks (and, later, grade submissions)."""
