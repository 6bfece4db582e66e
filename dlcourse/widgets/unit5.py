"""Unit 5's widgets: convolutions, CNN feature maps, architectures, RNN unrolling, gates, sequences, text.

Each wires controls to pure functions in ``dlcourse.explore.unit5_*``.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from ..explore import unit5_adding as add
from ..explore import unit5_architectures as arch
from ..explore import unit5_cnn as cnn
from ..explore import unit5_conv as conv
from ..explore import unit5_forecast as fc
from ..explore import unit5_rnn as rnn
from ..explore import unit5_text as txt
from ..plotting import LayeredRenderer
from .base import Demo, dropdown, set_range, slider

CUSTOM = "custom"


class ConvExplorer(Demo):
    """A digit, a preset or hand-edited 3×3 kernel, stride, padding, and the window stepping over the input."""

    reconfigure_on = ("preset", "stride", "padding")   # stride and padding set the number of window positions

    def __init__(self, kernel: str = "Sobel x (vertical edges)", index: int = 0, stride: int = 1, padding: int = 1,
                 step: int | None = None, headless: bool | None = None):
        self.start_step = step
        controls = {
            "preset": dropdown(list(conv.KERNELS) + [CUSTOM], kernel, "kernel"),
            "index": slider(index, 0, 1796, 1, "digit", integer=True),
            "stride": slider(stride, 1, 3, 1, "stride s", integer=True),
            "padding": slider(padding, 0, 2, 1, "padding p", integer=True),
            "step": slider(step or 0, 0, 255, 1, "window position", integer=True),
        }
        self.cells = {f"k{u}{v}": W.FloatText(value=float(conv.KERNELS[kernel][u, v]), step=0.5,
                                               layout=W.Layout(width="70px"))
                      for u in range(3) for v in range(3)}
        controls |= self.cells
        self.play = W.Play(min=0, max=255, interval=150, description="slide the window")
        W.jslink((self.play, "value"), (controls["step"], "value"))
        super().__init__(controls, self._compute, conv.ConvView(), figsize=(9, 3.2),
                         title="Convolution explorer",
                         hint="press ▶ to slide the window; change the kernel, stride and padding and "
                              "check the output size against the formula.", text=conv.describe_convolution,
                         headless=headless)
        grid = W.GridBox(list(self.cells.values()), layout=W.Layout(grid_template_columns="repeat(3, 75px)"))
        c = self.controls
        self.widget.children = (self.widget.children[0],
                                W.HBox([c["preset"], c["index"]]),
                                W.HBox([c["stride"], c["padding"], c["step"], self.play]),
                                W.HBox([W.HTML("3×3 kernel (editable):&nbsp;"), grid]),
                                self.image, self.caption)

    def kernel(self) -> np.ndarray:
        return np.array([[self.cells[f"k{u}{v}"].value for v in range(3)] for u in range(3)])

    def warm(self) -> None:
        """The window's range; with no ``step`` given, start where the kernel responds strongly."""
        values = self.values()
        first = conv.compute_convolution(values["index"], self.kernel(), values["stride"], values["padding"], 0)
        self.set_steps(first.n_steps - 1)
        if self.start_step is None:   # in the lower half: most of the output is already computed
            strength = np.abs(first.output)
            half = strength.shape[0] // 2
            self.controls["step"].value = half * strength.shape[1] + int(np.argmax(strength[half:]))

    def _on_change(self, change) -> None:
        if change["owner"] in self.cells.values():
            with self.holding() as held:
                if not held:   # a hand-edited cell, not a preset filling them in
                    self.controls["preset"].value = CUSTOM
        super()._on_change(change)

    def reconfigure(self, name, value) -> None:
        if name == "preset":
            if value != CUSTOM:   # a preset fills the cells; the demo then redraws once
                for cell, v in zip(self.cells.values(), conv.KERNELS[value].ravel()):
                    cell.value = float(v)
            return
        values = self.values()   # a shorter output clamps the window position: no second redraw
        self.set_steps(conv.compute_convolution(values["index"], None, values["stride"], values["padding"]).n_steps - 1)

    def _compute(self, preset, index, stride, padding, step, **cells):
        return conv.compute_convolution(index, self.kernel(), stride, padding, step)


def make_conv_explorer(kernel: str = "Sobel x (vertical edges)", headless: bool | None = None, **kw) -> ConvExplorer:
    return ConvExplorer(kernel, headless=headless, **kw)


def make_feature_map_demo(index: int = 0, layer: str = "conv1", headless: bool | None = None) -> Demo:
    """Feature maps of the trained digits CNN, layer by layer (trains it first if this session has not)."""
    controls = {
        "index": slider(index, 0, 448, 1, "test digit", integer=True),
        "layer": W.ToggleButtons(options=list(cnn.LAYERS), value=layer, description="layer",
                                 style={"button_width": "60px"}),
        "first": dropdown([("0–15", 0), ("16–31", 16), ("32–47", 32), ("48–63", 48)], 0, "channels"),
    }
    return Demo(controls, cnn.compute_feature_maps, cnn.FeatureMapView(), figsize=(9.5, 3.4),
                title="Feature maps of a trained CNN",
                hint="pick a digit and walk from conv1 to pool2: the maps shrink and respond to larger, "
                     "more specific patterns.", headless=headless, warm=cnn.trained_torch_cnn)


class ArchitectureBuilder(Demo):
    """Choosing an architecture also sets the input size to the one it was designed for."""

    reconfigure_on = ("name",)

    def __init__(self, name: str = "VGG-16", headless: bool | None = None):
        controls = {
            "name": dropdown(list(arch.SPECS), name, "architecture"),
            "width": slider(1.0, 0.25, 2.0, 0.25, "width ×"),
            "size": slider(arch.SPECS[name]["input"][1], 32, 320, 1, "input size", integer=True),
            "depth": W.SelectionSlider(options=list(arch.DEPTHS), value=20, description="blocks in the stack",
                                       continuous_update=False, style={"description_width": "initial"}),
        }
        super().__init__(controls, arch.compute_architecture, arch.ArchitectureView(), figsize=(10, 3.6),
                         title="Architecture builder",
                         hint="compare where AlexNet and VGG keep their parameters and where they spend their "
                              "multiply-adds; change the input size and watch the first fully connected layer; "
                              "then deepen the gradient-flow stack.", text=arch.describe_architecture,
                         headless=headless)

    def warm(self) -> None:
        for depth in arch.DEPTHS:        # each depth's gradient flow is computed once, here
            arch.residual_gradient_flow(depth, False)
            arch.residual_gradient_flow(depth, True)
        self.draw_every_network()

    def make_renderer(self):
        # one cached static layer (axes, tick labels, legend) per network: switching back redraws nothing
        return LayeredRenderer(self.fig, self.plot, self.margins)

    def draw_every_network(self) -> None:
        """Draw each network's static layer once, now, so that no switch of network waits for one (~0.1 s each).

        Runs before the first picture (:meth:`warm`); the renderer keeps the layers when the notebook keeps its
        picture (:meth:`dlcourse.plotting.LayeredRenderer.static_png`).
        """
        if self.headless:
            return
        values = self.values()
        for name, spec in arch.SPECS.items():
            if name != values["name"]:
                self.renderer.render(arch.compute_architecture(**{**values, "name": name, "size": spec["input"][1]}))
        if self.data is not None:
            self.renderer.render(self.data)       # the network on show goes back on the canvas

    def reconfigure(self, name, value) -> None:
        self.controls["size"].value = arch.SPECS[value]["input"][1]


def make_architecture_builder(name: str = "VGG-16", headless: bool | None = None) -> ArchitectureBuilder:
    return ArchitectureBuilder(name, headless)


def make_rnn_unroller(cell: str = "RNN", headless: bool | None = None) -> Demo:
    controls = {
        "cell": W.ToggleButtons(options=list(rnn.CELLS), value=cell, description="cell",
                                style={"button_width": "60px"}),
        "T": slider(40, 10, rnn.MAX_T, 5, "time steps T", integer=True),
        "scale": slider(1.0, 0.5, 3.0, 0.1, "recurrent weight scale ρ"),
        "gate_bias": slider(0.0, 0.0, 5.0, 0.5, "forget / update gate bias"),
        "clip": W.Checkbox(value=False, description="clip gradient norm to 1"),
    }
    return Demo(controls, rnn.compute_unroller, rnn.UnrollerView(), figsize=(9.5, 3.3),
                title="RNN unroller",
                hint="lower ρ to 0.7 and watch the RNN's gradient vanish; raise it to 2.5 and watch it "
                     "explode, then clip; give the LSTM a forget-gate bias of 3.", text=rnn.describe_unroller,
                     headless=headless)


def make_gate_inspector(index: int = 0, headless: bool | None = None) -> Demo:
    """The gates of the LSTM trained on the adding problem (T = 50); trains it first if needed."""
    controls = {"index": slider(index, 0, 199, 1, "test sequence", integer=True)}
    return Demo(controls, add.compute_gates, add.GateView(), figsize=(9, 4.6),
                title="LSTM gate inspector (adding problem, T = 50)",
                hint="find the two markers, then look at the input gate there and at the forget gate "
                     "between them.", headless=headless, warm=lambda: add.trained_adding_model("LSTM", 50))


class AddingDemo(Demo):
    """Cached learning curves for each sequence length, and a Run button that retrains one length live."""

    def __init__(self, seq_len: int = 50, headless: bool | None = None):
        controls = {"seq_len": W.SelectionSlider(options=list(add.LENGTHS), value=seq_len,
                                                 description="sequence length T", continuous_update=False,
                                                 style={"description_width": "initial"})}
        self.run_button = W.Button(description="Run (retrain the 3 cells, ~1 min)", icon="play",
                                   layout=W.Layout(width="280px"))
        self.progress = W.IntProgress(value=0, min=0, max=3 * 1500, description="training")
        self.run_button.on_click(self._run)
        super().__init__(controls, add.compute_adding, add.AddingView(), figsize=(7, 3.2),
                         title="The adding problem", hint="slide T from 10 to 100: which cells still beat "
                                                          "the dashed baseline?",
                         extra=[W.HBox([self.run_button, self.progress])], text=add.describe_adding,
                         headless=headless)

    def _run(self, _button=None) -> None:
        self.run_button.disabled = True
        self.progress.value = 0
        done = [0]

        def tick(step, mse):
            done[0] += add.DEFAULTS["eval_every"]
            self.progress.value = done[0]

        try:
            add.retrain(self.controls["seq_len"].value, callback=tick)
        finally:
            self.run_button.disabled = False
        self.update()


def make_adding_demo(seq_len: int = 50, headless: bool | None = None) -> AddingDemo:
    return AddingDemo(seq_len, headless)


def make_forecast_demo(series: str = "two sines", horizon: int = 20, headless: bool | None = None) -> Demo:
    """ESN, LSTM and last-value forecasts; trains the LSTMs first if this session has not."""
    def warm():
        for name in fc.SERIES:
            fc.rmse_by_horizon(name)   # trains the models and scores every forecast once

    controls = {
        "series": W.ToggleButtons(options=list(fc.SERIES), value=series, description="series"),
        "origin": slider(0, 0, len(fc.ORIGINS) - 1, 1, "forecast origin", integer=True),
        "horizon": slider(horizon, 1, fc.MAX_HORIZON, 1, "horizon", integer=True),
    }
    return Demo(controls, fc.compute_forecast, fc.ForecastView(), figsize=(9.5, 3.2),
                title="Forecasting", text=fc.describe_forecast,
                hint="push the horizon to 100 on each series: every model feeds its own predictions back, and on "
                     "the chaotic series the errors compound.", headless=headless, warm=warm)


def make_text_generator(temperature: float = 1.0, headless: bool | None = None) -> Demo:
    """Sample the character LSTM with a temperature; trains it first if this session has not."""
    controls = {
        "temperature": W.FloatLogSlider(value=temperature, base=10, min=-1, max=0.5, step=0.05,
                                        description="temperature τ", continuous_update=False,
                                        style={"description_width": "initial"}),
        "prompt": dropdown(list(txt.PROMPTS), txt.PROMPTS[0], "prompt"),
        "rng": slider(0, 0, 20, 1, "sample", integer=True),
    }
    return Demo(controls, txt.compute_generation, txt.GenerationView(), figsize=(9.5, 3.0),
                title="Character-level generation",
                hint="from τ = 0.1 (the same safe sentence) to τ = 3 (letter soup); where do the words break?",
                text=txt.describe_generation, headless=headless, warm=txt.trained_sampler)


# What benchmarks/run.py measures: each list changes a control and changes it back.
BENCHMARK_CASES = {
    "unit5 convolution explorer": (make_conv_explorer, [("step", 40), ("step", 41), ("stride", 2), ("k11", 3.0),
                                                        ("preset", "sharpen"), ("padding", 2), ("stride", 1)]),
    "unit5 feature maps": (make_feature_map_demo, [("index", 5), ("index", 6), ("layer", "conv2"),
                                                   ("first", 16), ("layer", "conv1"), ("index", 0)]),
    "unit5 architecture builder": (make_architecture_builder, [("size", 160), ("width", 0.5), ("name", "AlexNet"),
                                                               ("depth", 30), ("name", "VGG-16"), ("size", 224)]),
    "unit5 RNN unroller": (make_rnn_unroller, [("scale", 0.7), ("scale", 2.5), ("clip", True), ("cell", "LSTM"),
                                               ("gate_bias", 3.0), ("T", 60), ("cell", "RNN")]),
    "unit5 LSTM gate inspector": (make_gate_inspector, [("index", 1), ("index", 2), ("index", 3), ("index", 0)]),
    "unit5 adding problem": (make_adding_demo, [("seq_len", 10), ("seq_len", 100), ("seq_len", 50)]),
    "unit5 forecasting": (make_forecast_demo, [("horizon", 50), ("horizon", 100), ("origin", 5),
                                               ("series", "Mackey-Glass"), ("horizon", 20), ("origin", 0),
                                               ("series", "two sines")]),
    "unit5 text generation": (make_text_generator, [("temperature", 0.3), ("temperature", 2.0), ("rng", 1),
                                                    ("prompt", "a robot "), ("temperature", 1.0)]),
}


def make_sentiment_demo(sentence: str = txt.EXAMPLES[0], headless: bool | None = None) -> Demo:
    """The many-to-one sentiment RNN with per-word attributions; trains it first if this session has not."""
    controls = {
        "sentence": W.Combobox(value=sentence, options=list(txt.EXAMPLES), description="sentence",
                               ensure_option=False, continuous_update=False, layout=W.Layout(width="480px")),
    }
    return Demo(controls, txt.compute_sentiment, txt.SentimentView(), figsize=(8, 3.0),
                title="Sentence sentiment, word by word",
                hint="try 'the plot was not bad', then remove 'not'; join two clauses with 'but'.", headless=headless,
                warm=txt.trained_sentiment)


BENCHMARK_CASES["unit5 sentiment attributions"] = (make_sentiment_demo, [
    ("sentence", txt.EXAMPLES[1]), ("sentence", txt.EXAMPLES[2]), ("sentence", "the plot was bad"),
    ("sentence", txt.EXAMPLES[0])])


# -- 5.7 attention and transformers ------------------------------------------------------------------------
from ..explore import unit5_attention as att  # noqa: E402  (appended section)


def make_attention_explorer(query_x: float = 1.0, query_y: float = 0.5, headless: bool | None = None) -> Demo:
    """One query, four keys and their values: move the query and key A, watch the softmax weights and the output."""
    controls = {
        "query_x": slider(query_x, -2.0, 2.0, 0.1, "query x"),
        "query_y": slider(query_y, -2.0, 2.0, 0.1, "query y"),
        "key_angle": slider(60.0, 0.0, 360.0, 5.0, "key A angle (°)"),
        "key_length": slider(1.5, 0.0, 2.0, 0.1, "key A length"),
    }
    return Demo(controls, att.compute_attention_explorer, att.AttentionExplorerView(), figsize=(10, 3.4),
                title="Attention explorer",
                hint="point the query at key A and lengthen it: the weight goes to A and the output ★ moves to "
                     "vA; shorten the query and the weights even out (the output goes to the middle).",
                text=att.describe_attention_explorer, headless=headless)


def make_mask_explorer(T: int = 8, causal: bool = True, headless: bool | None = None) -> Demo:
    """Causal and padding masks: which keys each query may see, and the attention weights that result."""
    controls = {
        "T": slider(T, 2, att.MAX_T, 1, "sequence length T", integer=True),
        "n_pad": slider(2, 0, att.MAX_T - 1, 1, "padded positions", integer=True),
        "causal": W.Checkbox(value=causal, description="causal mask"),
        "query": slider(5, 0, att.MAX_T - 1, 1, "query position i", integer=True),
    }

    def compute(T, n_pad, causal, query):
        return att.compute_mask_explorer(T, min(n_pad, T - 1), causal, min(query, T - 1))

    return Demo(controls, compute, att.MaskView(), figsize=(10, 3.4), title="Mask explorer",
                hint="switch the causal mask on and off and read row 0: with it, the first token sees only itself; "
                     "add padding and watch the padded columns go dark in every row.",
                text=att.describe_mask_explorer, headless=headless)


BENCHMARK_CASES["unit5 attention explorer"] = (make_attention_explorer, [
    ("query_x", 1.5), ("query_y", -1.0), ("key_angle", 200.0), ("key_length", 0.5), ("query_x", 1.0)])
BENCHMARK_CASES["unit5 mask explorer"] = (make_mask_explorer, [
    ("query", 2), ("causal", False), ("n_pad", 4), ("T", 12), ("query", 9), ("T", 8), ("causal", True)])


# -- 5.8 CNN applications ------------------------------------------------------------------------------------
from ..explore import unit5_detection as det  # noqa: E402  (appended section)


class ReceptiveFieldDemo(Demo):
    """Pick a network and a layer: the receptive field, layer by layer, and one unit's field on the input."""

    reconfigure_on = ("network",)   # another network has another number of layers

    def __init__(self, network: str = "5.2 digits CNN", layer: int = 3, headless: bool | None = None):
        controls = {
            "network": dropdown(list(det.NETWORKS), network, "network"),
            "layer": slider(layer, 0, len(det.NETWORKS[network][1]) - 1, 1, "layer", integer=True),
            "unit": slider(0, 0, 60, 1, "unit (row = column)", integer=True),
        }
        super().__init__(controls, self._compute, det.FieldView(), figsize=(10, 3.6), title="Receptive field calculator",
                         hint="walk the layers of the 5.2 network: after pool2 one unit sees 10×10 pixels, more than "
                              "the 8×8 digit; then compare AlexNet, whose 11×11 stride-4 first layer jumps ahead.",
                         text=det.describe_receptive_field, headless=headless)

    def reconfigure(self, name, value) -> None:
        layer = self.controls["layer"]
        last = len(det.NETWORKS[value][1]) - 1
        set_range(layer, 0, last, min(layer.value, last))

    @staticmethod
    def _compute(network, layer, unit):
        return det.compute_receptive_field(network, min(layer, len(det.NETWORKS[network][1]) - 1), unit)


def make_receptive_field_demo(network: str = "5.2 digits CNN", layer: int = 3,
                              headless: bool | None = None) -> ReceptiveFieldDemo:
    return ReceptiveFieldDemo(network, layer, headless)


BENCHMARK_CASES["unit5 receptive field calculator"] = (make_receptive_field_demo, [
    ("layer", 1), ("unit", 2), ("layer", 2), ("network", "VGG-16, blocks 1-3"), ("layer", 9), ("unit", 20),
    ("network", "5.2 digits CNN")])
