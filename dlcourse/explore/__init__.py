"""Pure logic behind the widgets: ``compute_*`` functions return data, ``plot_*`` draw it.

Nothing here imports ipywidgets, so tests and the book can call every function
directly. The widgets in ``dlcourse.widgets`` only wire controls to these.
"""
