"""dlcourse: reference implementations for an interactive deep-learning course.

Every module is plain NumPy (float64 by default). PyTorch is used only as the
oracle in the tests and in the notebooks' "now in PyTorch" cells.

Units
-----
1. ``graph``, ``activations``, ``layers.Linear``, ``mlp``, ``shallow``, ``autoencoders``
2. ``losses``, ``metrics``
3. ``optim``, ``landscapes``, ``init``
4. ``regularization``, ``layers.Dropout``, ``layers.BatchNorm1d``
5. ``layers.Conv2d``, pooling, ``layers.RNN/LSTM/GRU``
"""

__version__ = "0.1.0"
