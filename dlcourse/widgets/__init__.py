"""Interactive widgets for the notebooks: thin ipywidgets front ends over ``dlcourse.explore``.

ipywidgets is imported only inside this package. Each ``make_*`` function
returns a :class:`~dlcourse.widgets.base.Demo`; display it as a cell's last
expression.
"""

from .base import Demo

__all__ = ["Demo"]
