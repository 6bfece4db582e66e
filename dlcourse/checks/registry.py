"""Every exercise of the course, keyed by its id (``"1.3"``)."""

from __future__ import annotations

from .exercise import Exercise

EXERCISES: dict[str, Exercise] = {}


def register(*exercises: Exercise) -> None:
    for ex in exercises:
        if ex.id in EXERCISES:
            raise ValueError(f"exercise {ex.id} is registered twice")
        EXERCISES[ex.id] = ex


def get_exercise(exercise_id: str) -> Exercise:
    _load_all()
    if not isinstance(exercise_id, str):
        raise TypeError(f"exercise_id must be a string such as '1.3', got {type(exercise_id).__name__}")
    if exercise_id not in EXERCISES:
        known = ", ".join(sorted(EXERCISES, key=_order))
        raise ValueError(f"unknown exercise {exercise_id!r}; known exercises: {known}")
    return EXERCISES[exercise_id]


def _order(ex_id: str):
    return tuple(int(p) for p in ex_id.split("."))


_LOADED = False


def _load_all() -> None:
    """Import each unit's exercise module once (they register themselves)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import importlib
    import pkgutil

    from .. import checks as pkg
    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name.startswith("unit"):
            importlib.import_module(f"{pkg.__name__}.{mod.name}")
