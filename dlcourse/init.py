r"""Weight initialisation (Unit 3, "Initialisation").

Every initialiser has the signature ``(shape, rng=None, gain=1.0)`` and returns a new
float64 array of that shape. ``shape`` follows torch's weight layout,
``(fan_out, fan_in, *kernel)``: ``(out_features, in_features)`` for a linear layer,
``(C_out, C_in, kH, kW)`` for a convolution, whose receptive field multiplies both fans
(:func:`calculate_fan_in_and_fan_out`). ``rng`` is ``None``, an int seed or a
``numpy.random.Generator``.

The variance-scaling rules keep the variance of the activations (Glorot also that of
the gradients) the same from layer to layer:

- ``glorot_uniform``, ``glorot_normal``: :math:`2/(n_{in} + n_{out})`
  (torch's ``xavier_uniform_``, ``xavier_normal_``);
- ``he_uniform``, ``he_normal``: :math:`2/n_{in}`
  (``kaiming_uniform_``/``kaiming_normal_`` with ``nonlinearity="relu"``);
- ``lecun_normal``: :math:`1/n_{in}` (``kaiming_normal_`` with ``nonlinearity="linear"``);

each times ``gain**2``. They are registered by name in :data:`INITIALIZERS`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validate import as_rng, check_number

__all__ = ["zeros", "normal", "uniform", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
           "lecun_normal", "orthogonal", "calculate_fan_in_and_fan_out", "calculate_gain",
           "INITIALIZERS", "get_initializer"]


def _check_shape(shape, min_ndim: int = 0) -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative ints (an int is a 1-D shape)."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise TypeError(f"shape must be a tuple of non-negative ints such as (out_features, in_features), "
                        f"got {shape!r}")
    if len(shape) < min_ndim:
        raise ValueError(f"shape must have at least {min_ndim} dimensions (fan_out, fan_in, *kernel) "
                         f"to define fan_in and fan_out, got {tuple(shape)}")
    return tuple(int(s) for s in shape)


def calculate_fan_in_and_fan_out(shape) -> tuple[int, int]:
    r"""``(fan_in, fan_out)`` of a weight of shape ``(fan_out, fan_in, *kernel)``, as torch computes them.

    .. math:: n_{in} = C_{in} \prod_k K_k, \qquad n_{out} = C_{out} \prod_k K_k

    A convolution's output unit sees :math:`C_{in} \prod K_k` inputs; each input reaches
    :math:`C_{out} \prod K_k` outputs (ignoring borders and stride).
    """
    shape = _check_shape(shape, min_ndim=2)
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The gain torch recommends for ``nonlinearity``, as ``torch.nn.init.calculate_gain``.

    ``"linear"``, conv names and ``"sigmoid"``: 1; ``"tanh"``: 5/3; ``"relu"``:
    :math:`\sqrt 2`; ``"leaky_relu"``: :math:`\sqrt{2/(1 + a^2)}` with slope ``param``
    (default 0.01); ``"selu"``: 3/4.
    """
    linear = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid"}
    if nonlinearity in linear:
        return 1.0
    fixed = {"tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4}
    if nonlinearity in fixed:
        return fixed[nonlinearity]
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else check_number(param, "param")
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}; choose one of "
                     f"{sorted(linear | set(fixed) | {'leaky_relu'})}")


def _gain(gain) -> float:
    return check_number(gain, "gain", low=0.0)


def zeros(shape, rng=None, gain: float = 1.0) -> np.ndarray:
    r"""All zeros, as ``torch.nn.init.zeros_``: fine for biases, fatal for weights.

    Every hidden unit of a layer then computes the same thing and receives the same
    gradient, so they stay identical for ever (the symmetry is never broken). ``rng`` and
    ``gain`` are accepted for a uniform signature and ignored.
    """
    _gain(gain)
    return np.zeros(_check_shape(shape))


def normal(shape, rng=None, gain: float = 1.0, mean: float = 0.0, std: float = 0.01) -> np.ndarray:
    r"""Small Gaussian numbers :math:`\mathcal{N}(\mu, (g\sigma)^2)`, the "small random" initialisation.

    Parameters
    ----------
    shape : tuple of int
    rng : None, int or numpy.random.Generator
    gain : float
        Multiplies the standard deviation.
    mean, std : float
        :math:`\mu` and :math:`\sigma` (default 0 and 0.01, as in ``0.01 * randn``).
        ``torch.nn.init.normal_``'s defaults are 0 and 1.

    Notes
    -----
    A fixed scale ignores the layer's width: in a deep network the activations shrink
    (or, with a larger ``std``, grow) geometrically with depth, which the variance-scaling
    rules fix.
    """
    mean = check_number(mean, "mean")
    std = check_number(std, "std", low=0.0)
    return as_rng(rng).normal(mean, _gain(gain) * std, _check_shape(shape))


def uniform(shape, rng=None, gain: float = 1.0, a: float = -0.05, b: float = 0.05) -> np.ndarray:
    r"""Uniform numbers :math:`g\,\mathcal{U}(a, b)`.

    Parameters
    ----------
    shape : tuple of int
    rng : None, int or numpy.random.Generator
    gain : float
        Multiplies both bounds.
    a, b : float
        Bounds, :math:`a \le b` (default :math:`\pm 0.05`, Keras' ``RandomUniform``).
        ``torch.nn.init.uniform_``'s defaults are 0 and 1.
    """
    a, b = check_number(a, "a"), check_number(b, "b")
    if a > b:
        raise ValueError(f"uniform needs a <= b, got a={a} > b={b}")
    g = _gain(gain)
    return as_rng(rng).uniform(g * a, g * b, _check_shape(shape))


def _normal_with_std(shape, rng, std: float) -> np.ndarray:
    return as_rng(rng).normal(0.0, std, shape)


def _uniform_with_std(shape, rng, std: float) -> np.ndarray:
    bound = math.sqrt(3.0) * std  # U(-b, b) has variance b^2 / 3
    return as_rng(rng).uniform(-bound, bound, shape)


def glorot_uniform(shape, rng=None, gain: float = 1.0) -> np.ndarray:
    r"""Glorot (Xavier) uniform, as ``torch.nn.init.xavier_uniform_``.

    .. math:: W \sim \mathcal{U}(-b, b), \quad b = g\sqrt{\frac{6}{n_{in} + n_{out}}}, \quad
        \operatorname{Var} W = \frac{2 g^2}{n_{in} + n_{out}}

    References
    ----------
    Glorot and Bengio (2010), "Understanding the difficulty of training deep feedforward
    neural networks", AISTATS.
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    return _uniform_with_std(_check_shape(shape), rng, _gain(gain) * math.sqrt(2.0 / (fan_in + fan_out)))


def glorot_normal(shape, rng=None, gain: float = 1.0) -> np.ndarray:
    r"""Glorot (Xavier) normal, as ``torch.nn.init.xavier_normal_``.

    .. math:: W \sim \mathcal{N}\!\left(0, \frac{2 g^2}{n_{in} + n_{out}}\right)

    The compromise between keeping the forward variance (:math:`1/n_{in}`) and the
    backward variance (:math:`1/n_{out}`), derived for tanh-like units near 0.
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    return _normal_with_std(_check_shape(shape), rng, _gain(gain) * math.sqrt(2.0 / (fan_in + fan_out)))


def he_uniform(shape, rng=None, gain: float = 1.0) -> np.ndarray:
    r"""He (Kaiming) uniform for ReLU layers.

    .. math:: W \sim \mathcal{U}(-b, b), \quad b = g\sqrt{\frac{6}{n_{in}}}, \quad
        \operatorname{Var} W = \frac{2 g^2}{n_{in}}

    Notes
    -----
    The same as ``torch.nn.init.kaiming_uniform_(w, nonlinearity="relu")``. Torch's own
    default (``a=0, nonlinearity="leaky_relu"``) gives the same :math:`\sqrt 2` gain;
    ``nn.Linear`` however initialises with ``a=sqrt(5)``, i.e.
    :math:`\mathcal{U}(\pm 1/\sqrt{n_{in}})`.

    References
    ----------
    He, Zhang, Ren and Sun (2015), "Delving deep into rectifiers", ICCV.
    """
    fan_in, _ = calculate_fan_in_and_fan_out(shape)
    return _uniform_with_std(_check_shape(shape), rng, _gain(gain) * math.sqrt(2.0 / fan_in))


def he_normal(shape, rng=None, gain: float = 1.0) -> np.ndarray:
    r"""He (Kaiming) normal, as ``torch.nn.init.kaiming_normal_(w, nonlinearity="relu")``.

    .. math:: W \sim \mathcal{N}\!\left(0, \frac{2 g^2}{n_{in}}\right)

    A ReLU zeroes half of its inputs, halving the second moment; the factor 2 restores it.
    """
    fan_in, _ = calculate_fan_in_and_fan_out(shape)
    return _normal_with_std(_check_shape(shape), rng, _gain(gain) * math.sqrt(2.0 / fan_in))


def lecun_normal(shape, rng=None, gain: float = 1.0) -> np.ndarray:
    r"""LeCun normal, :math:`\mathcal{N}(0, g^2/n_{in})`: keeps the forward variance of a linear layer.

    Notes
    -----
    The same as ``torch.nn.init.kaiming_normal_(w, nonlinearity="linear")``; the choice for
    SELU networks. Keras draws from a truncated normal instead.

    References
    ----------
    LeCun, Bottou, Orr and Müller (1998), "Efficient BackProp".
    """
    fan_in, _ = calculate_fan_in_and_fan_out(shape)
    return _normal_with_std(_check_shape(shape), rng, _gain(gain) / math.sqrt(fan_in))


def orthogonal(shape, rng=None, gain: float = 1.0) -> np.ndarray:
    r"""A (semi-)orthogonal matrix times ``gain``, as ``torch.nn.init.orthogonal_``.

    The weight is viewed as a matrix :math:`W` of ``shape[0]`` rows and
    ``prod(shape[1:])`` columns, filled from the QR factorisation of a Gaussian matrix,
    with the signs of :math:`R`'s diagonal moved into :math:`Q` (so that :math:`Q` is
    uniform over the orthogonal matrices). Then

    .. math:: W^\top W = g^2 I \ \text{(rows} \ge \text{cols)}, \qquad
              W W^\top = g^2 I \ \text{(rows} \le \text{cols)}.

    Multiplying by an orthogonal matrix keeps every vector's norm, so signals neither
    grow nor shrink through a deep linear network (or through time in an RNN).

    References
    ----------
    Saxe, McClelland and Ganguli (2014), "Exact solutions to the nonlinear dynamics of
    learning in deep linear neural networks", ICLR.
    """
    shape = _check_shape(shape)
    if len(shape) < 2:
        raise ValueError(f"Only tensors with 2 or more dimensions are supported; orthogonal needs a "
                         f"shape (rows, cols, ...), got {shape}")
    g = _gain(gain)
    if math.prod(shape) == 0:
        return np.zeros(shape)
    rows, cols = shape[0], math.prod(shape[1:])
    flat = as_rng(rng).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return g * q.reshape(shape)


INITIALIZERS = {
    "zeros": zeros, "normal": normal, "uniform": uniform,
    "glorot_uniform": glorot_uniform, "glorot_normal": glorot_normal,
    "he_uniform": he_uniform, "he_normal": he_normal, "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
}


def get_initializer(name: str):
    """The initialiser registered as ``name`` in :data:`INITIALIZERS`."""
    if name not in INITIALIZERS:
        raise ValueError(f"unknown initializer {name!r}; choose one of {sorted(INITIALIZERS)}")
    return INITIALIZERS[name]
