"""The PyTorch comparison row: the book's concise PyTorch loop for the same workload.

Used only when ``torch`` is installed; jaxlin never depends on it. The model,
batch size and learning rate are the workload's; data are in-memory tensors
behind a ``DataLoader`` with ``num_workers=0`` and shuffling, as in the book.
LeNet is the book's 6.6 net (NCHW); its loop is ``train_ch6``'s, which is ``train_epoch_ch3``'s
with the metrics read every batch as well. Classifiers run the book's ``train_epoch_ch3``: ``l.mean().backward()``, then the
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


def perceptron(sizes: tuple[int, ...]) -> Any:
    """Linear layers of ``sizes`` with ReLU between them (the book's 3.3, 3.7 and 4.3 nets)."""
    from torch import nn
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def lenet() -> Any:
    """The book's LeNet (6.6) with its ``init_weights``: Xavier-uniform convolutions and linears."""
    from torch import nn
    net = nn.Sequential(nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
                        nn.AvgPool2d(kernel_size=2, stride=2), nn.Conv2d(6, 16, kernel_size=5),
                        nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
                        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
                        nn.Linear(84, 10))
    for m in net:
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
    return net


def time_epochs(w: Any, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` epochs after one warm-up epoch."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    X = np.asarray(w.prepare(w.X)).astype(np.float32)
    # NHWC images as PyTorch's NCHW, or flattened for the perceptrons
    X = X.transpose(0, 3, 1, 2).copy() if w.convolutional else X.reshape(X.shape[0], -1)
    y = np.asarray(w.y)
    net = lenet() if w.convolutional else perceptron(w.layers)
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
