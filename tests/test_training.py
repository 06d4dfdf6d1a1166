"""The training engine: schedule, clipping, weight decay, batching, local generators, history, device."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from fewshot.training import Trainer, linear_schedule, resolve_device, seeded_torch


def _data(n=24, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X[:, 0] > 0).long()
    return X, y


def _model(seed=0, dropout=0.0):
    with seeded_torch(seed):
        return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Dropout(dropout), torch.nn.Linear(8, 2))


def _run(model, X, y, **kw):
    kw = {"learning_rate": 1e-2, "epochs": 3, "seed": 0, **kw}
    trainer = Trainer(**kw)
    n = len(y)

    def batches():
        order = trainer.rng.permutation(n)
        return [order[i:i + 8] for i in range(0, n, 8)]

    trainer.fit(model, lambda idx: torch.nn.functional.cross_entropy(model(X[idx]), y[idx]), batches)
    return trainer


def test_linear_schedule_warms_up_then_decays_to_zero():
    f = linear_schedule(10, 2)
    assert [f(s) for s in range(10)] == pytest.approx([0.0, 0.5, 1.0, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8])
    g = linear_schedule(4, 0)  # no warm-up: straight linear decay
    assert [g(s) for s in range(4)] == pytest.approx([1.0, 0.75, 0.5, 0.25])


def test_trainer_follows_the_schedule_and_records_one_loss_per_epoch():
    X, y = _data()
    trainer = _run(_model(), X, y, warmup_ratio=0.25, epochs=4)  # 3 steps an epoch, 12 steps, 3 of warm-up
    assert len(trainer.step_losses) == 12 and len(trainer.loss_history) == 4
    assert trainer.loss_history[0] == pytest.approx(np.mean(trainer.step_losses[:3]))
    expected = [1e-2 * linear_schedule(12, 3)(s) for s in range(12)]
    assert trainer.learning_rates == pytest.approx(expected)
    assert trainer.loss_history[-1] < trainer.loss_history[0]


def test_steps_per_epoch_draws_batches_across_passes():
    X, y = _data()
    model = _model()
    trainer = Trainer(learning_rate=1e-2, epochs=2, seed=0)
    calls = []

    def batches():
        calls.append(1)
        return [np.arange(0, 8), np.arange(8, 16)]

    history = trainer.fit(model, lambda idx: torch.nn.functional.cross_entropy(model(X[idx]), y[idx]), batches,
                          steps_per_epoch=3)
    assert len(history) == 2 and len(trainer.step_losses) == 6
    assert len(calls) == 3  # 6 steps from passes of 2 batches


def test_gradients_are_clipped_to_max_grad_norm():
    X, y = _data()

    def norms(max_grad_norm):
        model = _model()
        seen = []

        def step(idx):
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            if grads:  # the gradients the previous optimizer step used (cleared only after this call)
                seen.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))
            return torch.nn.functional.cross_entropy(model(X[idx]), y[idx]) * 100.0

        trainer = Trainer(learning_rate=1e-3, epochs=2, seed=0, max_grad_norm=max_grad_norm)
        trainer.fit(model, step, lambda: [np.arange(0, 12), np.arange(12, 24)])
        return seen

    assert max(norms(None)) > 1.0
    assert max(norms(0.5)) <= 0.5 + 1e-5


def test_weight_decay_spares_biases_and_norms():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = Trainer(learning_rate=0.1, epochs=1, seed=0, weight_decay=0.5)
    # a loss with zero gradient: only weight decay moves parameters
    trainer.fit(model, lambda idx: (model(torch.ones(1, 3)) * 0.0).sum(), lambda: [0])
    after = model.state_dict()
    assert not torch.equal(after["0.weight"], before["0.weight"])
    for key in ("0.bias", "1.weight", "1.bias"):
        assert torch.equal(after[key], before[key]), key


def test_same_seed_same_model_and_the_global_random_state_is_untouched():
    X, y = _data()
    random.seed(7), np.random.seed(7), torch.manual_seed(7)
    states = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()
    a, b, c = _model(dropout=0.3), _model(dropout=0.3), _model(dropout=0.3)
    _run(a, X, y, seed=1)
    torch.manual_seed(123)  # another global state changes nothing
    _run(b, X, y, seed=1)
    _run(c, X, y, seed=2)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True))
    torch.manual_seed(7)
    assert random.getstate() == states[0] and np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])


def test_module_is_left_in_eval_mode_and_progress_bar_is_optional(capsys):
    X, y = _data()
    model = _model()
    _run(model, X, y, show_progress=True, desc="tiny run")
    assert not model.training
    assert "tiny run" in capsys.readouterr().err
    _run(_model(), X, y)
    assert "tiny run" not in capsys.readouterr().err


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(None) == resolve_device("auto")
    for bad in ("gpu", "CUDA", "cuda:", "cuda:-1", "mps", 1):
        with pytest.raises(ValueError, match=r"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"):
            resolve_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda:0' but torch sees no CUDA GPU here"):
            resolve_device("cuda:0")
        assert resolve_device("cuda", fallback_to_cpu=True) == torch.device("cpu")
