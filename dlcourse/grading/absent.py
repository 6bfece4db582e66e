"""What graded code meets where the library's own implementations were removed (see :mod:`dlcourse.grading.library`).

Every function of ``dlcourse`` that the checking harness does not need is, in the copy of the package the
sandbox sees, replaced by a stub that raises :class:`LibraryCodeAbsent` naming the function. The audit hook of
the runner raises :class:`NotAvailableWhileGrading` for operations graded code may not do (start processes,
load C libraries, walk the interpreter's objects). Both are plain exceptions: student code may catch them, which
only means its function computes without the library and is judged on its outputs.
"""


class LibraryCodeAbsent(RuntimeError):
    """A function of dlcourse was called that is not available while grading (its body was removed)."""

    def __init__(self, name: str):
        super().__init__(f"{name} is not available while grading")
        self.name = name


class NotAvailableWhileGrading(RuntimeError):
    """An operation refused by the grading sandbox's audit hook (processes, ctypes, gc introspection)."""


def absent(name: str):
    """Raise :class:`LibraryCodeAbsent` for ``name`` (the body of every removed function calls this)."""
    raise LibraryCodeAbsent(name)
