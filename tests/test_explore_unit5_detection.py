"""Notebook 5.8's logic: shapes, the U-Net, receptive fields (and their widget), the GAN and the
speech pipeline. Trainings are a few steps here; the trained models' claims are checked by the notebook (nbval)."""

import itertools

import numpy as np
import pytest

pytestmark = pytest.mark.unit5

from dlcourse import losses  # noqa: E402
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
