"""Small classifiers for the 8x8 digits shipped with the package."""

from __future__ import annotations

from .. import nn


class DigitsCNN(nn.Module):
    """Two 3x3 convolutions with BatchNorm and ReLU, max pooling, and a linear classifier.

    Shape:
        input ``(N, 1, 8, 8)``, output ``(N, 10)`` logits.
    """

    def __init__(self, channels: int = 32, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.BatchNorm2d(2 * channels),
            nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.1),
                                        nn.Linear(2 * channels, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class DigitsMLP(nn.Module):
    """A two-hidden-layer perceptron on the flattened image."""

    def __init__(self, hidden: int = 128, num_classes: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.net(x)
