"""Class weights and focal losses against their formulas, computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fewshot.losses import (
    PairSimilarityLoss,
    binary_focal_loss,
    class_weights,
    focal_loss,
    pair_similarity_loss,
    positive_weights,
    sample_weights,
    weights_from_counts,
)


# --------------------------------------------------------------------------- class weights
def test_inverse_weights_by_hand():
    # counts 30 and 10: raw 1/30, 1/10 -> normalised to sum 2: 0.5, 1.5
    np.testing.assert_allclose(weights_from_counts([30, 10], "inverse"), [0.5, 1.5])
    np.testing.assert_allclose(class_weights(np.array([0, 0, 0, 1]), "inverse"), [0.5, 1.5])


def test_sqrt_inverse_weights_by_hand():
    # counts 100 and 25: raw 1/10, 1/5 -> sum 0.3, scaled by 2/0.3
    np.testing.assert_allclose(weights_from_counts([100, 25], "sqrt_inverse"), [2 / 3, 4 / 3])


def test_effective_number_weights_by_hand():
    # Cui et al. 2019: E_n = (1 - beta^n) / (1 - beta); weight ∝ 1 / E_n
    beta, counts = 0.9, [10, 2]
    e10 = (1 - 0.9**10) / 0.1  # 6.5132...
    e2 = (1 - 0.9**2) / 0.1  # 1.9
    raw = np.array([1 / e10, 1 / e2])
    expected = raw * 2 / raw.sum()
    np.testing.assert_allclose(weights_from_counts(counts, "effective", beta=beta), expected)
    assert math.isclose(e2, 1.9)


def test_effective_weights_span_uniform_to_inverse():
    counts = [40, 8]
    np.testing.assert_allclose(weights_from_counts(counts, "effective", beta=0.0), [1.0, 1.0])
    np.testing.assert_allclose(weights_from_counts(counts, "effective", beta=0.999999),
                               weights_from_counts(counts, "inverse"), rtol=1e-4)


def test_balanced_counts_give_equal_weights():
    for scheme in ("inverse", "sqrt_inverse", "effective"):
        np.testing.assert_allclose(weights_from_counts([16, 16, 16], scheme), [1.0, 1.0, 1.0])


def test_class_weights_counts_unseen_class_as_zero():
    np.testing.assert_allclose(class_weights(np.array([0, 0, 2]), "inverse", n_classes=3), [1.0, 0.0, 2.0])


def test_bad_weight_arguments():
    with pytest.raises(ValueError, match="unknown class weight scheme 'balanced'"):
        weights_from_counts([3, 1], "balanced")
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\)"):
        weights_from_counts([3, 1], "effective", beta=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        weights_from_counts([3, -1])
    with pytest.raises(ValueError, match="every class count is 0"):
        weights_from_counts([0, 0])


def test_positive_weights_by_hand():
    # label 0: 1 of 4 present -> inverse pos_weight = n_absent / n_present = 3
    # label 1: 2 of 4 present -> 1; label 2: always present -> 1 (nothing to balance)
    Y = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 1], [0, 0, 1]], dtype=float)
    np.testing.assert_allclose(positive_weights(Y, "inverse"), [3.0, 1.0, 1.0])
    np.testing.assert_allclose(positive_weights(Y, "sqrt_inverse"), [math.sqrt(3), 1.0, 1.0])


def test_sample_weights_balance_classes_in_expectation():
    y = np.array([0, 0, 0, 1])
    w = sample_weights(y, 2)
    np.testing.assert_allclose(w, [1 / 3, 1 / 3, 1 / 3, 1.0])
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum())
    # multi-label: the rarest label of each row decides
    Y = np.array([[1, 0], [1, 0], [1, 1], [0, 0]], dtype=float)
    np.testing.assert_allclose(sample_weights(Y, 2), [1 / 3, 1 / 3, 1.0, 1.0])


# --------------------------------------------------------------------------- focal losses
def test_focal_loss_gamma_zero_is_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 3, generator=g)
    target = torch.tensor([0, 1, 2, 2, 1, 0, 0])
    torch.testing.assert_close(focal_loss(logits, target, gamma=0.0), F.cross_entropy(logits, target))
    w = torch.tensor([0.5, 1.0, 2.0])
    torch.testing.assert_close(focal_loss(logits, target, gamma=0.0, weight=w),
                               F.cross_entropy(logits, target, weight=w))


def test_focal_loss_by_hand():
    # two examples, two classes; p_t from the softmax of the true class
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([0, 0])
    p1 = math.exp(2) / (math.exp(2) + 1)  # 0.8808
    p2 = 1 / (1 + math.e)  # 0.2689
    fl = [-(1 - p) ** 2 * math.log(p) for p in (p1, p2)]
    assert focal_loss(logits, target, gamma=2.0).item() == pytest.approx(sum(fl) / 2, rel=1e-5)
    # alpha weights: weighted mean with the true class' weight
    w = torch.tensor([3.0, 1.0])
    assert focal_loss(logits, target, gamma=2.0, weight=w).item() == pytest.approx((3 * fl[0] + 3 * fl[1]) / 6, rel=1e-5)
    target = torch.tensor([0, 1])
    p2 = math.e / (1 + math.e)
    fl2 = -(1 - p2) ** 2 * math.log(p2)
    assert focal_loss(logits, target, gamma=2.0, weight=w).item() == pytest.approx((3 * fl[0] + fl2) / 4, rel=1e-5)


def test_focal_loss_down_weights_easy_examples():
    easy = torch.tensor([[5.0, 0.0]])
    hard = torch.tensor([[0.0, 0.5]])
    t = torch.tensor([0])
    ratio_ce = F.cross_entropy(easy, t) / F.cross_entropy(hard, t)
    ratio_fl = focal_loss(easy, t, gamma=2.0) / focal_loss(hard, t, gamma=2.0)
    assert ratio_fl < ratio_ce / 100


def test_binary_focal_loss_gamma_zero_is_bce():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(5, 4, generator=g)
    target = (torch.rand(5, 4, generator=g) > 0.5).float()
    torch.testing.assert_close(binary_focal_loss(logits, target, gamma=0.0),
                               F.binary_cross_entropy_with_logits(logits, target))
    pw = torch.tensor([1.0, 2.0, 3.0, 0.5])
    torch.testing.assert_close(binary_focal_loss(logits, target, gamma=0.0, pos_weight=pw),
                               F.binary_cross_entropy_with_logits(logits, target, pos_weight=pw))


def test_binary_focal_loss_by_hand():
    logits = torch.tensor([[1.0, -2.0]])
    target = torch.tensor([[1.0, 0.0]])
    p1 = 1 / (1 + math.exp(-1.0))  # present, p = 0.731
    p2 = 1 / (1 + math.exp(2.0))  # absent, p = 0.119
    expected = (-(1 - p1) ** 2 * math.log(p1) - p2**2 * math.log(1 - p2)) / 2
    assert binary_focal_loss(logits, target, gamma=2.0).item() == pytest.approx(expected, rel=1e-5)


# --------------------------------------------------------------------------- SetFit's pair loss
def test_pair_loss_balances_positives_and_negatives_per_sampling():
    # 4 sentences, labels [0, 0, 0, 1]: positives (0,1) (0,2) (1,2), negatives (0,3) (1,3) (2,3)
    labels = torch.tensor([0, 0, 0, 1])
    targets = (labels[:, None] == labels[None, :]).float()
    sim = torch.zeros(4, 4)
    sim[0, 1] = 1.0  # one positive is already perfect: error 0; the other positives have error 1
    gen = torch.Generator().manual_seed(0)
    pos_err, neg_err = 2 / 3, 0.0
    assert pair_similarity_loss(sim, targets, "oversampling", gen).item() == pytest.approx(0.5 * pos_err + 0.5 * neg_err)
    assert pair_similarity_loss(sim, targets, "unique", gen).item() == pytest.approx(2 / 6)
    # 2 positives, 4 negatives when label 3 joins class 1: undersampling keeps 2 of the 4 negatives
    labels = torch.tensor([0, 0, 1, 1])
    targets = (labels[:, None] == labels[None, :]).float()
    sim = torch.full((4, 4), 0.5)
    assert pair_similarity_loss(sim, targets, "undersampling", gen).item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="sampling must be one of oversampling, undersampling, unique"):
        pair_similarity_loss(sim, targets, "random")


def test_pair_similarity_module_scores_cosine_similarities_and_draws_from_its_generator():
    emb = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, -1.0]], requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1])
    targets = (labels[:, None] == labels[None, :]).float()
    # cosines: (0,1) 1, (2,3) -1, the four cross pairs 0: positives err 0 and 4, negatives err 0
    loss = PairSimilarityLoss("unique")(emb, targets)
    assert isinstance(PairSimilarityLoss(), torch.nn.Module)
    assert loss.item() == pytest.approx(4 / 6)
    loss.backward()
    assert emb.grad is not None and emb.grad.abs().sum() > 0
    emb = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 0, 1, 1, 2, 2])  # 3 positive pairs, 12 negative: 3 negatives are kept
    targets = (labels[:, None] == labels[None, :]).float()
    draws = [PairSimilarityLoss("undersampling", torch.Generator().manual_seed(seed))(emb, targets).item()
             for seed in (1, 1, 2, 3, 4)]
    assert draws[0] == draws[1], "the same generator seed keeps the same negatives"
    assert len(set(draws[1:])) > 1, "other seeds keep other negatives"
    state = torch.get_rng_state()
    PairSimilarityLoss("undersampling", torch.Generator().manual_seed(1))(emb, targets)
    assert torch.equal(state, torch.get_rng_state()), "the loss draws from its own generator only"
