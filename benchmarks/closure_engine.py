"""A minimal closure-based scalar engine in the style of micrograd, written for comparison only.

Every operation stores a ``_backward`` closure and ``backward()`` sorts the graph
recursively: the simplest design, and the baseline the course's engine must beat.
"""

import math
import random


class V:
    def __init__(self, data, children=()):
        self.data, self.grad, self._prev, self._backward = data, 0.0, set(children), lambda: None

    def __add__(self, other):
        other = other if isinstance(other, V) else V(other)
        out = V(self.data + other.data, (self, other))

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, V) else V(other)
        out = V(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        out = V(self.data ** k, (self,))

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = V(t, (self,))

        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __radd__(self, other):
        return self + other

    def backward(self):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for c in v._prev:
                    build(c)
                topo.append(v)
        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


def mlp(sizes, seed=0):
    rnd = random.Random(seed)
    return [[([V(rnd.uniform(-1, 1)) for _ in range(a)], V(0.0)) for _ in range(b)] for a, b in zip(sizes, sizes[1:])]


def forward(net, x):
    for i, layer in enumerate(net):
        outs = []
        for ws, b in layer:
            act = sum((w * xi for w, xi in zip(ws, x)), b)
            outs.append(act.tanh() if i < len(net) - 1 else act)
        x = outs
    return x[0]


def step(net, X, y, lr=0.05):
    loss = sum(((forward(net, [V(float(v)) for v in row]) - float(t)) ** 2 for row, t in zip(X, y)), V(0.0))
    loss = loss * (1.0 / len(y))
    params = [p for layer in net for ws, b in layer for p in ws + [b]]
    for p in params:
        p.grad = 0.0
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
    return loss.data
