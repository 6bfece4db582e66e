r"""Convolution explorer: a digit, a 3×3 kernel, stride and padding, the window sliding step by step.

:func:`compute_convolution` returns everything the figure needs: the zero-padded image,
the full output (computed with :func:`dlcourse.layers.conv.im2col`, i.e. as a
cross-correlation, like ``torch.nn.Conv2d``), the window of the current step, its
element-wise products and their sum, and the output-size formula with the numbers filled in.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..data import load_digits
from ..layers.conv import conv_output_size, im2col
from ..plotting import DIVERGING, PALETTE, View, colorbar, number, picture

KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edge (Laplacian)": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "blur (box)": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "Sobel x (vertical edges)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "Sobel y (horizontal edges)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
}
KERNELS = {name: np.array(k, dtype=float) for name, k in KERNELS.items()}
UPSAMPLE = 2   # each 8×8 digit is shown as 16×16 so that edges are two pixels wide


@lru_cache(maxsize=1)
def _digits():
    return load_digits()


def digit_image(index: int) -> tuple[np.ndarray, int]:
    """Digit ``index`` (wrapping around) as a 16×16 image in [0, 1], and its label."""
    X, y = _digits()
    i = int(index) % len(X)
    return np.kron(X[i].reshape(8, 8), np.ones((UPSAMPLE, UPSAMPLE))), int(y[i])


def convolve2d(image, kernel, stride: int = 1, padding: int = 0) -> np.ndarray:
    r"""Cross-correlate one 2-D ``image`` with one 2-D ``kernel`` (no flip), as ``F.conv2d`` does.

    .. math:: y_{ij} = \sum_{u,v} K_{uv}\, \tilde x_{s i + u,\, s j + v}
    """
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    cols = im2col(image[None, None], kernel.shape, stride, padding)
    H_out = conv_output_size(image.shape[0], kernel.shape[0], stride, padding)
    W_out = conv_output_size(image.shape[1], kernel.shape[1], stride, padding)
    return (kernel.ravel() @ cols).reshape(H_out, W_out)


def output_size_formula(n: int, k: int, s: int, p: int) -> str:
    """The formula with the numbers filled in, e.g. ``⌊(16 + 2·1 − 3)/2⌋ + 1 = 8``."""
    return f"⌊({n} + 2·{p} − {k})/{s}⌋ + 1 = {conv_output_size(n, k, s, p)}"


class ConvData(NamedTuple):
    image: np.ndarray      # (H, W) the digit
    label: int
    padded: np.ndarray     # (H + 2p, W + 2p)
    kernel: np.ndarray     # (3, 3)
    stride: int
    padding: int
    output: np.ndarray     # (H_out, W_out), all of it
    step: int              # which output pixel is being computed (row-major)
    n_steps: int
    position: tuple        # (i, j) of the current output pixel
    window: np.ndarray     # (3, 3) the padded input under the kernel
    products: np.ndarray   # (3, 3) kernel * window
    value: float           # products.sum() == output[i, j]
    formula: str


def compute_convolution(index: int = 0, kernel=None, stride: int = 1, padding: int = 1,
                        step: int = 0) -> ConvData:
    """The state of the explorer: digit ``index`` convolved with ``kernel`` (default: Sobel x).

    ``step`` counts output pixels in row-major order and is clipped to the last one.
    """
    kernel = KERNELS["Sobel x (vertical edges)"] if kernel is None else np.asarray(kernel, dtype=float)
    if kernel.shape != (3, 3):
        raise ValueError(f"kernel must be 3×3, got shape {kernel.shape}")
    image, label = digit_image(index)
    output = convolve2d(image, kernel, stride, padding)
    H_out, W_out = output.shape
    step = int(np.clip(step, 0, H_out * W_out - 1))
    i, j = divmod(step, W_out)
    padded = np.pad(image, padding)
    window = padded[i * stride:i * stride + 3, j * stride:j * stride + 3]
    products = kernel * window
    return ConvData(image, label, padded, kernel, stride, padding, output, step, H_out * W_out, (i, j),
                    window, products, float(products.sum()), output_size_formula(image.shape[0], 3, stride, padding))


def describe_convolution(d: ConvData) -> str:
    i, j = d.position
    terms = " + ".join(f"{k:g}·{x:.2f}" for k, x in zip(d.kernel.ravel(), d.window.ravel()) if k != 0)
    return (f"Step {d.step + 1} of {d.n_steps}: output[{i}, {j}] = Σ kernel ⊙ window = {terms or '0'} "
            f"= <b>{d.value:.3f}</b>. Output size {d.formula} per side.")


MAX_PADDING, MAX_STRIDE = 2, 3
SIDE = 8 * UPSAMPLE                       # the image is SIDE × SIDE
MAX_IN = SIDE + 2 * MAX_PADDING           # largest padded input
MAX_OUT = SIDE + 2 * MAX_PADDING - 2      # largest output (stride 1, kernel 3)


class ConvView(View):
    """The padded input with the sliding window, the kernel with its numbers, the output filling up.

    Panels keep fixed limits (room for the largest padded input and output) and the images
    are centred in them, so stride and padding changes repaint only the moving parts.
    """

    def setup(self, fig, d: ConvData) -> None:
        self.ax_in, self.ax_k, self.ax_out = fig.subplots(1, 3, width_ratios=[1.2, 0.8, 1.2])
        self.inp = picture(self.ax_in.imshow(np.zeros((2, 2)), cmap="gray_r", vmin=0, vmax=1))
        edge = MAX_PADDING - 0.5
        self.ax_in.add_patch(_rect(edge, edge, SIDE, SIDE, PALETTE["sky"], ls=":"))
        self.window = self.ax_in.add_patch(_rect(-0.5, -0.5, 3, 3, PALETTE["vermillion"], lw=2.5))
        self.ax_in.set_title("input (dotted: the image, outside: padding)", fontsize=9)
        # kernel and output are shown relative to their largest magnitude: the colour bars stay put
        self.kimg = self.ax_k.imshow(np.zeros((3, 3)), cmap=DIVERGING, vmin=-1, vmax=1)
        colorbar(self.ax_k, self.kimg, label="weight ÷ largest", ticks=[-1, 0, 1], shrink=0.7)
        self.ktext = [[self.ax_k.text(v, u, "", ha="center", va="center", fontsize=9) for v in range(3)]
                      for u in range(3)]
        self.ax_k.set_title("kernel ⊙ window\n(colours: kernel,\nnumbers: products)", fontsize=9)
        self.oimg = self.ax_out.imshow(np.zeros((2, 2)), cmap=DIVERGING, vmin=-1, vmax=1)
        colorbar(self.ax_out, self.oimg, label="value ÷ largest", ticks=[-1, 0, 1], shrink=0.7)
        self.cursor = self.ax_out.add_patch(_rect(-0.5, -0.5, 1, 1, PALETTE["vermillion"], lw=2))
        self.otitle = self.ax_out.set_title(" ", fontsize=9)
        for ax, n in ((self.ax_in, MAX_IN), (self.ax_out, MAX_OUT)):
            ax.set_xlim(-0.5, n - 0.5)
            ax.set_ylim(n - 0.5, -0.5)
        for ax in (self.ax_in, self.ax_k, self.ax_out):
            ax.set_xticks([])
            ax.set_yticks([])

    def update(self, d: ConvData) -> list:
        i, j = d.position
        P, (H_out, W_out) = d.padded.shape[0], d.output.shape
        o, q = MAX_PADDING - d.padding, (MAX_OUT - H_out) / 2       # offsets that centre the images
        self.inp.set_data(d.padded)
        self.inp.set_extent((o - 0.5, o + P - 0.5, o + P - 0.5, o - 0.5))
        self.window.set_xy((o + j * d.stride - 0.5, o + i * d.stride - 0.5))
        lim = float(np.abs(d.kernel).max()) or 1.0
        self.kimg.set_data(d.kernel / lim)
        for u in range(3):
            for v in range(3):
                self.ktext[u][v].set_text(number(d.products[u, v]))
                self.ktext[u][v].set_color("white" if abs(d.kernel[u, v]) > 0.6 * lim else "black")
        shown = np.full(d.output.shape, np.nan)
        shown.flat[:d.step + 1] = d.output.flat[:d.step + 1]
        olim = float(np.abs(d.output).max()) or 1.0
        self.oimg.set_data(shown / olim)
        self.oimg.set_extent((q - 0.5, q + W_out - 0.5, q + H_out - 0.5, q - 0.5))
        self.cursor.set_xy((q + j - 0.5, q + i - 0.5))
        self.otitle.set_text(f"output {H_out}×{W_out}: {d.formula}")
        return [self.inp, self.window, self.kimg, *sum(self.ktext, []), self.oimg, self.cursor,
                self.otitle]


def _rect(x, y, w, h, colour, lw=1.5, ls="-"):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, fill=False, edgecolor=colour, lw=lw, ls=ls)
