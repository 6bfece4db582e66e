"""Notebook 5.8's logic: shapes, the U-Net, receptive fields (and their widget), the GAN and the
speech pipeline. Trainings are a few steps here; the trained models' claims are checked by the notebook (nbval)."""

import itertools

import numpy as np
import pytest

pytestmark = pytest.mark.unit5

from dlcourse import losses, plotting  # noqa: E402
from dlcourse.explore import unit5_common as common  # noqa: E402
from dlcourse.explore import unit5_detection as det  # noqa: E402
from dlcourse.explore import unit5_generative as gen  # noqa: E402
from dlcourse.widgets import unit5 as widgets  # noqa: E402

PNG = b"\x89PNG"


# -- shapes ------------------------------------------------------------------------------------------
def test_shapes_boxes_masks_and_labels_agree():
    s = det.make_shapes(20, rng=0)
    assert s.images.shape == (20, 1, 32, 32) and s.masks.shape == (20, 32, 32)
    for boxes, labels, mask in zip(s.boxes, s.labels, s.masks):
        assert 1 <= len(boxes) == len(labels) <= 3
        iou = det.box_iou(boxes, boxes)
        assert np.allclose(iou, np.eye(len(boxes)))                  # no two objects overlap
        for (x0, y0, x1, y1), label in zip(boxes.astype(int), labels):
            inside = mask[y0:y1, x0:x1]
            assert np.all(inside[inside > 0] == label) and (inside == label).any()
    assert np.array_equal(det.make_shapes(3, rng=5).images, det.make_shapes(3, rng=5).images)


# -- U-Net -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("skips", [True, False])
def test_unet_shapes_and_its_loss_is_unit2_cross_entropy(torch, skips):
    model, curve = det.train_unet(skips, steps=2, batch_size=4)
    assert curve.shape == (2,)
    _, test = det.segmentation_data()
    logits, pred = det.predict_masks(model, test.images[:3])
    assert logits.shape == (3, 3, 32, 32) and pred.shape == (3, 32, 32)
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(test.masks[:3])).item()
    assert losses.cross_entropy(logits, test.masks[:3]) == pytest.approx(expected, rel=1e-10)


def test_class_iou():
    truth = np.array([[0, 1], [2, 2]])
    np.testing.assert_allclose(det.class_iou(truth, truth), [1, 1, 1])
    np.testing.assert_allclose(det.class_iou(np.array([[0, 1], [2, 0]]), truth), [1 / 2, 1, 1 / 2])


# -- receptive fields --------------------------------------------------------------------------------
def test_receptive_fields_by_formula_and_by_gradient(torch):
    rows = det.receptive_fields(det.NETWORKS["5.2 digits CNN"][1], 8)
    assert [(r.size, r.jump, r.out) for r in rows] == [(3, 1, 8), (4, 2, 4), (8, 2, 4), (10, 4, 2)]
    alex = det.receptive_fields(det.NETWORKS["AlexNet"][1], 227)
    assert (alex[0].size, alex[0].out, alex[-1].size, alex[-1].out) == (11, 55, 195, 6)
    # a stack of 3x3 convolutions without padding: the gradient of the centre unit fills exactly its field
    layers = [("c", 3, 1, 0)] * 3 + [("p", 2, 2, 0), ("c", 3, 1, 0)]
    net = torch.nn.Sequential(*[torch.nn.Conv2d(1, 1, 3) for _ in range(3)], torch.nn.AvgPool2d(2),
                              torch.nn.Conv2d(1, 1, 3))
    x = torch.ones(1, 1, 30, 30, requires_grad=True)
    net(x)[0, 0, 4, 4].backward()
    last = det.receptive_fields(layers, 30)[-1]
    rows_nz, cols_nz = np.nonzero(x.grad[0, 0].numpy())
    lo = last.start + 4 * last.jump - last.size / 2
    assert (rows_nz.min(), rows_nz.max() + 1, cols_nz.min(), cols_nz.max() + 1) == (lo, lo + last.size) * 2


def test_receptive_field_widget():
    demo = widgets.make_receptive_field_demo()
    assert demo.png.startswith(PNG) and demo.data.rows[-1].size == 10
    demo.controls["network"].value = "AlexNet"
    assert demo.data.network == "AlexNet" and demo.controls["layer"].max == 7
    demo.controls["layer"].value = 7
    assert demo.data.rows[demo.data.layer].size == 195 and "195×195" in demo.caption.value
    demo.controls["unit"].value = 60                                    # clamped to the 6×6 map
    assert demo.data.unit == 5
    with pytest.raises(ValueError, match="network must be one of"):
        det.compute_receptive_field("LeNet")


# -- GAN ---------------------------------------------------------------------------------------------
def test_gan_runs_and_records_snapshots():
    run = gen.train_gan(steps=20, batch_size=16, snapshot_every=10)
    assert run.d_losses.shape == run.g_losses.shape == (20,)
    assert run.snapshot_steps.tolist() == [10, 20] and run.snapshots.shape == (2, 2000)
    assert np.all(np.isfinite(run.snapshots))
    x = gen.mixture_samples(10000, rng=0)
    assert abs(gen.mode_share(x) - 0.5) < 0.02 and abs(np.abs(x).mean() - 2) < 0.05


# -- speech ------------------------------------------------------------------------------------------
def test_spectrogram_equals_torch_stft(torch):
    wave = gen.synth_utterance("cab", rng=1)
    expected = torch.stft(torch.tensor(wave), 256, 128, window=torch.hann_window(256), center=False,
                          return_complex=True).abs().T.numpy()
    np.testing.assert_allclose(gen.spectrogram(wave), expected, atol=1e-9)
    with pytest.raises(ValueError, match="text must be a non-empty string of the letters 'abc'"):
        gen.synth_utterance("abd")


def test_the_template_model_transcribes_repeated_letters():
    for text, seed in (("abba", 0), ("cab", 1), ("aacb", 2)):
        lp = gen.frame_log_probs(gen.spectrogram(gen.synth_utterance(text, rng=seed)))
        np.testing.assert_allclose(np.exp(lp).sum(1), 1.0)
        assert "".join(gen.SYMBOLS[k] for k in gen.greedy_ctc_decode(lp)) == text


def test_ctc_forward_equals_brute_force_and_torch(torch, rng):
    lp = np.log(rng.dirichlet(np.ones(3), size=5))
    for target in ([1, 2], [1, 1], [2], [1, 2, 1]):
        brute = sum(np.exp(sum(lp[t, s] for t, s in enumerate(p)))
                    for p in itertools.product(range(3), repeat=5) if gen.collapse(list(p)) == target)
        assert np.exp(gen.ctc_log_likelihood(lp, target)) == pytest.approx(brute, rel=1e-10)
        theirs = torch.nn.CTCLoss(reduction="sum")(torch.tensor(lp)[:, None], torch.tensor([target]),
                                                   torch.tensor([5]), torch.tensor([len(target)]))
        assert gen.ctc_log_likelihood(lp, target) == pytest.approx(-theirs.item(), rel=1e-10)
    assert gen.ctc_log_likelihood(lp[:2], [1, 1]) == -np.inf            # "a-a" needs 3 frames


# -- verification ------------------------------------------------------------------------------------
def test_pair_distances_and_best_threshold():
    emb = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 1.5]])
    d, same = det.pair_distances(emb, [0, 0, 1, 1])
    assert len(d) == 6 and same.tolist() == [True, False, False, False, False, True]
    threshold, accuracy = det.best_threshold(d, same)
    assert accuracy == 1.0 and threshold == 1.5                 # both same-pairs (1, 1.5) below, the rest above
    threshold, accuracy = det.best_threshold([1.0, 2.0, 3.0], [False, True, False])
    assert accuracy == pytest.approx(2 / 3)


# -- notebook 5.8's figures --------------------------------------------------------------------------
# Each figure function is drawn on a fresh Agg figure in the course style, then read back: what it drew (the data
# on the axes, the number of boxes, titles) and whether it reads (text >= 9 pt, a colour bar on every heatmap, no
# legend over the data: the checks tests/test_figures.py applies to the widgets).
def new_figure(width=8.0, height=4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96)
    FigureCanvasAgg(fig)
    return fig


def draw(plot, *args, size=(8.0, 4.0), axes=False, **kwargs):
    """``plot(fig or ax, *args, **kwargs)`` in the course style; returns ``(fig, what plot returned)``."""
    with plotting.style():
        fig = new_figure(*size)
        out = plot(fig.subplots() if axes else fig, *args, **kwargs)
        fig.canvas.draw()
    return fig, out


def figure_problems(fig) -> list:
    """What would make a figure unreadable: text under 9 pt, a heatmap without a colour bar, a legend on data."""
    from test_figures import covered_points, heatmaps_without_colorbar, visible_texts

    small = [t.get_text() for t in visible_texts(fig) if t.get_fontsize() < plotting.MIN_FONT_PT]
    return small + heatmaps_without_colorbar(fig) + covered_points(fig)


def data_axes(fig):
    return [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is None]


def colorbars(fig):
    return [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]


def test_plot_shapes_draws_every_image_box_and_mask():
    # fails if a box or a mask goes missing, if the masks lose their class colour bar, or a title its classes
    s = det.make_shapes(4, rng=3)
    fig, _ = draw(det.plot_shapes, s, size=(10, 5))
    axes = data_axes(fig)
    assert len(axes) == 8 and len(colorbars(fig)) == 1 and not figure_problems(fig)
    for i in range(4):
        top, bottom = axes[i], axes[4 + i]
        assert len(top.patches) == len(s.boxes[i])
        np.testing.assert_array_equal(top.images[0].get_array(), s.images[i, 0])
        np.testing.assert_array_equal(bottom.images[0].get_array(), s.masks[i])
        assert all(det.CLASSES[c] in top.get_title() for c in s.labels[i])
    assert [t.get_text() for t in colorbars(fig)[0].get_yticklabels()] == list(det.CLASSES)


def test_plot_nms_shows_every_detection_left_and_the_kept_ones_with_scores_right():
    # fails if the right panel drew the suppressed boxes, or the scores of other boxes than the kept ones
    s = det.make_shapes(1, rng=3)
    boxes, scores, labels = det.noisy_detections(s.boxes[0], s.labels[0], rng=0)
    keep = det.nms(boxes, scores, 0.5)
    fig, _ = draw(det.plot_nms, s.images[0, 0], boxes, scores, labels, keep, size=(9, 4.2))
    left, right = data_axes(fig)
    assert len(left.patches) == len(boxes) and not left.texts
    assert len(right.patches) == len(keep) < len(boxes)
    np.testing.assert_allclose([p.get_x() for p in right.patches], boxes[keep, 0])
    assert [t.get_text() for t in right.texts] == [f"{v:.2f}" for v in scores[keep]]
    assert f"{len(keep)} kept" in right.get_title() and not figure_problems(fig)


def anchor_case(sizes=(8.0, 16.0), rng=3):
    s = det.make_shapes(1, rng=rng)
    anchors = det.anchor_grid(32, 4, sizes)
    return s, anchors, det.encode_targets(s.boxes[0], s.labels[0], anchors)


def test_plot_anchor_targets_draws_every_responsible_anchor_visible_on_top():
    # The review's bug: 8x8 anchors drawn white and thin, exactly on the white grid lines, then covered by the cell
    # shading added after them (same zorder) - invisible. Fails if an anchor is hidden, transparent, under the
    # image or the shading, outside the axes, under 2 pixels wide, or if drawing it changes no pixel on its outline.
    s, anchors, targets = anchor_case()
    fig, drawn = draw(det.plot_anchor_targets, s.images[0, 0], anchors, targets, s.boxes[0], s.labels[0],
                      size=(4.6, 4.6), axes=True)
    ax = fig.axes[0]
    responsible = anchors[targets.objectness > 0]
    assert len(drawn) == len(responsible) == len(s.boxes[0]) and not figure_problems(fig)
    others = [a for a in ax.get_children() if a not in drawn and hasattr(a, "get_zorder") and a.get_visible()
              and a in ax.images + ax.patches + ax.lines]
    x_lo, x_hi = sorted(ax.get_xlim())
    y_lo, y_hi = sorted(ax.get_ylim())
    for patch, box in zip(drawn, responsible):
        assert patch.get_visible() and patch.get_gid() == "anchor"
        assert (patch.get_alpha() is None or patch.get_alpha() > 0) and patch.get_edgecolor()[3] > 0
        assert patch.get_zorder() > max(a.get_zorder() for a in others)          # image, grid, shading, boxes
        assert patch.get_linewidth() * fig.dpi / 72 >= 2
        x0, y0 = patch.get_xy()
        np.testing.assert_allclose([x0, y0, x0 + patch.get_width(), y0 + patch.get_height()], box)
        assert x_lo <= box[0] and box[2] <= x_hi and y_lo <= box[1] and box[3] <= y_hi
    # and on the rendered picture: removing one anchor changes the pixels along its outline
    shown = np.asarray(fig.canvas.buffer_rgba()).copy()
    for patch in drawn:
        patch.set_visible(False)
        fig.canvas.draw()
        changed = np.abs(np.asarray(fig.canvas.buffer_rgba()).astype(int) - shown).sum(-1) > 0
        patch.set_visible(True)
        (px0, py0), (px1, py1) = ax.transData.transform(patch.get_bbox().get_points())
        pad = 6                                                           # the dark outline is 4.5 pt wide
        rows = slice(int(fig.bbox.height - max(py0, py1)) - pad, int(fig.bbox.height - min(py0, py1)) + pad)
        cols = slice(int(min(px0, px1)) - pad, int(max(px0, px1)) + pad)
        perimeter = 2 * (abs(px1 - px0) + abs(py1 - py0))
        assert changed[rows, cols].sum() == changed.sum() > perimeter       # this anchor's outline, all round


def test_plot_anchor_targets_grows_the_axes_for_an_anchor_past_the_image():
    # a 24x24 anchor on an edge cell reaches past the 32x32 image; fails if it is clipped by the axes limits
    s, anchors, targets = anchor_case(sizes=(24.0,))
    fig, drawn = draw(det.plot_anchor_targets, s.images[0, 0], anchors, targets, s.boxes[0], s.labels[0],
                      size=(4.6, 4.6), axes=True)
    boxes = np.array([[p.get_x(), p.get_y(), p.get_x() + p.get_width(), p.get_y() + p.get_height()] for p in drawn])
    ax = fig.axes[0]
    assert boxes.min() < 0 or boxes.max() > 32
    assert min(ax.get_xlim()) <= boxes[:, 0].min() and max(ax.get_xlim()) >= boxes[:, 2].max()
    assert min(ax.get_ylim()) <= boxes[:, 1].min() and max(ax.get_ylim()) >= boxes[:, 3].max()


def test_plot_segmentations_one_row_per_image_one_column_per_mask():
    # fails if a prediction lands in the wrong column or row, or the masks share no class colour bar
    _, test = det.segmentation_data()
    wrong = (test.masks + 1) % 3
    fig, _ = draw(det.plot_segmentations, test.images, test.masks, {"model": wrong, "truth again": test.masks},
                  n=3, size=(8, 6))
    axes = np.array(data_axes(fig)).reshape(3, 4)
    assert [ax.get_title() for ax in axes[0]] == ["image", "true mask", "model", "truth again"]
    for row in range(3):
        for ax, expected in zip(axes[row], (test.images[row, 0], test.masks[row], wrong[row], test.masks[row])):
            np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    assert len(colorbars(fig)) == 1 and not figure_problems(fig)


def test_plot_verification_histograms_and_threshold():
    # fails if the two groups are swapped or the threshold line is not where best_threshold put it
    d, same = np.array([0.5, 1.0, 3.0, 4.0, 5.0]), np.array([True, True, False, False, False])
    fig, _ = draw(det.plot_verification, d, same, 2.0, size=(6.5, 3), axes=True)
    ax = fig.axes[0]
    heights = [sum(p.get_height() * p.get_width() for p in c) for c in ax.containers]
    np.testing.assert_allclose(heights, [1, 1])                           # two densities
    first = [p.get_x() for p in ax.containers[0] if p.get_height() > 0]
    assert max(first) < 2.0 and ax.lines[0].get_xdata()[0] == 2.0
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["same digit", "different digits", "threshold 2.00"] and not figure_problems(fig)


def test_plot_gan_losses_and_snapshots():
    # fails if the curves are not the moving averages of the losses, or a snapshot's histogram is missing
    run = gen.train_gan(steps=60, batch_size=16, snapshot_every=20)
    fig, _ = draw(gen.plot_gan, run, gen.mixture_samples(500, rng=1), window=10, size=(10, 3.8))
    ax1, ax2 = data_axes(fig)
    steps, means = common.moving_average(run.d_losses, 10)
    np.testing.assert_allclose(ax1.lines[0].get_xdata(), steps)
    np.testing.assert_allclose(ax1.lines[0].get_ydata(), means)
    np.testing.assert_allclose([ax1.lines[k].get_ydata()[0] for k in (2, 3)], [2 * np.log(2), np.log(2)])
    labels = [t.get_text() for t in ax2.get_legend().get_texts()]
    assert labels == ["real data"] + [f"generated, step {k}" for k in (20, 40, 60)] and not figure_problems(fig)


def test_plot_ctc_frames_waveform_spectrogram_probabilities():
    # fails if a panel is missing, the probabilities are drawn as log-probabilities, or a heatmap loses its bar
    wave = gen.synth_utterance("ab", rng=0)
    spec = gen.spectrogram(wave)
    lp = gen.frame_log_probs(spec)
    fig, _ = draw(gen.plot_ctc_frames, wave, spec, lp, size=(9, 6.4))
    top, middle, bottom = data_axes(fig)
    np.testing.assert_allclose(top.lines[0].get_ydata(), wave)
    np.testing.assert_allclose(bottom.images[0].get_array(), np.exp(lp).T)
    assert [t.get_text() for t in bottom.get_yticklabels()] == ["blank", "a", "b", "c"]
    assert len(colorbars(fig)) == 2 and not figure_problems(fig)


def test_moving_average():
    # fails if the steps do not end each window (1-based) or a window longer than the curve raises
    steps, means = common.moving_average([1.0, 2.0, 3.0, 5.0], 2)
    assert steps.tolist() == [2, 3, 4] and means.tolist() == [1.5, 2.5, 4.0]
    assert [len(a) for a in common.moving_average([1.0], 3)] == [0, 0]
