"""Train a small CNN (Conv2d, BatchNorm2d, MaxPool2d) on the bundled 8x8 digits with SGD,
momentum and a cosine learning-rate schedule, then save and reload the weights.

    python examples/cnn_digits.py [--epochs 8]
"""

import argparse
import os
import tempfile

import deepseek as ds
import deepseek.nn as nn
import deepseek.nn.functional as F
from deepseek.datasets import load_digits
from deepseek.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32 * 2 * 2, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)  # 8x8 -> 4x4
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)  # 4x4 -> 2x2
        return self.fc(ds.flatten(x, 1))


def evaluate(model, x, y):
    model.eval()
    with ds.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()

    ds.manual_seed(0)
    x_train, y_train = load_digits(train=True)
    x_test, y_test = load_digits(train=False)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    model = Net()
    optimizer = ds.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    scheduler = ds.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    for epoch in range(args.epochs):
        model.train()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, lr {scheduler.get_last_lr()[0]:.4f}, "
              f"test accuracy {evaluate(model, x_test, y_test):.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cnn.ds")
        ds.save(model.state_dict(), path)
        restored = Net()
        restored.load_state_dict(ds.load(path))
    print(f"reloaded model test accuracy {evaluate(restored, x_test, y_test):.3f}")


if __name__ == "__main__":
    main()
