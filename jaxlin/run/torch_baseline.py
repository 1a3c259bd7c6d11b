"""The PyTorch comparison row: the book's concise PyTorch loop for the same workload.

Used only when ``torch`` is installed; jaxlin never depends on it. The model,
batch size and learning rate are the workload's; data are in-memory tensors
behind a ``DataLoader`` with ``num_workers=0`` and shuffling, as in the book.
Classifiers run the book's ``train_epoch_ch3``: ``l.mean().backward()``, then the
batch's loss sum and correct count added to the epoch's metrics, as jaxlin's
compiled epoch also computes them.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np


def available() -> bool:
    try:
        import torch  # noqa: F401  (only whether it imports)
    except ImportError:
        return False
    return True


def time_epochs(w: Any, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` epochs after one warm-up epoch."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    X = np.asarray(w.prepare(w.X)).reshape(w.X.shape[0], -1).astype(np.float32)
    y = np.asarray(w.y)
    layers: list[nn.Module] = []
    sizes = w.layers
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers)
    regression = w.name == "linreg"
    loss = nn.MSELoss() if regression else nn.CrossEntropyLoss(reduction="none")
    labels = torch.from_numpy(y.astype(np.float32) if regression else y.astype(np.int64))
    loader = DataLoader(TensorDataset(torch.from_numpy(X), labels), batch_size=w.batch_size,
                        shuffle=True, num_workers=0)
    trainer = torch.optim.SGD(net.parameters(), lr=w.lr)

    def epoch() -> None:
        metric = [0.0, 0.0, 0]
        for Xb, yb in loader:
            y_hat = net(Xb)
            l = loss(y_hat, yb)
            trainer.zero_grad()
            l.mean().backward()
            trainer.step()
            if not regression:              # the book's train_epoch_ch3: sums read every batch
                with torch.no_grad():       # (its 3.3 regression loop reads none)
                    metric[0] += float(l.sum())
                    metric[1] += float((y_hat.argmax(axis=1).type(yb.dtype) == yb).type(yb.dtype).sum())
                    metric[2] += yb.numel()

    epoch()
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - tic)
    return times
