"""Train a small MLP on the bundled 8x8 digits and report test accuracy.

    python examples/mlp_digits.py [--epochs 20]
"""

import argparse

import deepseek as ds
import deepseek.nn as nn
import deepseek.nn.functional as F
from deepseek.datasets import load_digits
from deepseek.utils.data import DataLoader, TensorDataset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=3e-3)
    args = parser.parse_args()

    ds.manual_seed(0)
    x_train, y_train = load_digits(train=True)
    x_test, y_test = load_digits(train=False)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(128, 10))
    optimizer = ds.optim.Adam(model.parameters(), lr=args.lr)

    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        model.eval()
        with ds.no_grad():
            accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
        print(f"epoch {epoch + 1}: loss {total / len(x_train):.4f}, test accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
