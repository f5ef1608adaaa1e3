"""Each layer against the torch.nn class of the same name, on copied weights: outputs,
gradients of inputs and parameters, and buffers."""

from __future__ import annotations

import numpy as np
import pytest
from nn_reference import Const, compare_module

R = np.random.default_rng(0)


def x(*shape, low=-2.0, high=2.0):
    return R.uniform(low, high, shape)


def idx(high, *shape):
    return R.integers(0, high, shape)


def pos(*shape):
    return R.uniform(0.05, 0.95, shape)


# (id, constructor on lib, inputs, options)
CASES = [
    ("Linear", lambda nn: nn.Linear(4, 3), (x(2, 5, 4),), {}),
    ("Linear_nobias", lambda nn: nn.Linear(4, 3, bias=False), (x(5, 4),), {}),
    ("Bilinear", lambda nn: nn.Bilinear(3, 4, 2), (x(5, 3), x(5, 4)), {}),
    ("Identity", lambda nn: nn.Identity(7), (x(2, 3),), {}),
    ("Flatten", lambda nn: nn.Flatten(), (x(2, 3, 4),), {}),
    ("Unflatten", lambda nn: nn.Unflatten(1, (2, 3)), (x(2, 6),), {}),
    ("ReLU", lambda nn: nn.ReLU(), (x(3, 4),), {}),
    ("ReLU6", lambda nn: nn.ReLU6(), (x(3, 4, low=-8, high=8),), {}),
    ("LeakyReLU", lambda nn: nn.LeakyReLU(0.2), (x(3, 4),), {}),
    ("PReLU", lambda nn: nn.PReLU(3), (x(2, 3, 4),), {}),
    ("ELU", lambda nn: nn.ELU(0.7), (x(3, 4),), {}),
    ("SELU", lambda nn: nn.SELU(), (x(3, 4),), {}),
    ("CELU", lambda nn: nn.CELU(1.3), (x(3, 4),), {}),
    ("GELU", lambda nn: nn.GELU(), (x(3, 4),), {}),
    ("GELU_tanh", lambda nn: nn.GELU("tanh"), (x(3, 4),), {}),
    ("SiLU", lambda nn: nn.SiLU(), (x(3, 4),), {}),
    ("Mish", lambda nn: nn.Mish(), (x(3, 4),), {}),
    ("Tanh", lambda nn: nn.Tanh(), (x(3, 4),), {}),
    ("Sigmoid", lambda nn: nn.Sigmoid(), (x(3, 4),), {}),
    ("Hardtanh", lambda nn: nn.Hardtanh(-0.5, 0.7), (x(3, 4),), {}),
    ("Hardswish", lambda nn: nn.Hardswish(), (x(3, 4, low=-5, high=5),), {}),
    ("Hardsigmoid", lambda nn: nn.Hardsigmoid(), (x(3, 4, low=-5, high=5),), {}),
    ("Softplus", lambda nn: nn.Softplus(2.0, 3.0), (x(3, 4),), {}),
    ("Softsign", lambda nn: nn.Softsign(), (x(3, 4),), {}),
    ("Softmax", lambda nn: nn.Softmax(dim=1), (x(3, 4),), {}),
    ("LogSoftmax", lambda nn: nn.LogSoftmax(dim=-1), (x(3, 4),), {}),
    ("Softmin", lambda nn: nn.Softmin(dim=0), (x(3, 4),), {}),
    ("GLU", lambda nn: nn.GLU(), (x(3, 4),), {}),
    ("Threshold", lambda nn: nn.Threshold(0.1, 20.0), (x(3, 4),), {}),
    ("LogSigmoid", lambda nn: nn.LogSigmoid(), (x(3, 4),), {}),
    ("Hardshrink", lambda nn: nn.Hardshrink(0.3), (x(3, 4),), {}),
    ("Softshrink", lambda nn: nn.Softshrink(0.3), (x(3, 4),), {}),
    ("Tanhshrink", lambda nn: nn.Tanhshrink(), (x(3, 4),), {}),
    ("MSELoss", lambda nn: nn.MSELoss(), (x(3, 4), x(3, 4)), {}),
    ("L1Loss_sum", lambda nn: nn.L1Loss(reduction="sum"), (x(3, 4), x(3, 4)), {}),
    ("SmoothL1Loss", lambda nn: nn.SmoothL1Loss(beta=0.5), (x(3, 4), x(3, 4)), {}),
    ("HuberLoss", lambda nn: nn.HuberLoss(delta=0.7), (x(3, 4), x(3, 4)), {}),
    ("CrossEntropyLoss", lambda nn: nn.CrossEntropyLoss(label_smoothing=0.1),
     (x(4, 5), idx(5, 4)), {}),
    ("NLLLoss", lambda nn: nn.NLLLoss(reduction="none"), (x(4, 5), idx(5, 4)), {}),
    ("NLLLoss2d", lambda nn: nn.NLLLoss2d(ignore_index=1), (x(2, 3, 4, 5), idx(3, 2, 4, 5)), {}),
    ("BCELoss", lambda nn: nn.BCELoss(), (pos(3, 4), pos(3, 4)), {}),
    ("BCEWithLogitsLoss", lambda nn: nn.BCEWithLogitsLoss(), (x(3, 4), pos(3, 4)), {}),
    ("KLDivLoss", lambda nn: nn.KLDivLoss(reduction="batchmean"), (x(3, 4), pos(3, 4)), {}),
    ("CosineEmbeddingLoss", lambda nn: nn.CosineEmbeddingLoss(0.1),
     (x(4, 3), x(4, 3), np.array([1.0, -1.0, 1.0, -1.0])), {}),
    ("MarginRankingLoss", lambda nn: nn.MarginRankingLoss(0.2),
     (x(4), x(4), np.array([1.0, -1.0, 1.0, -1.0])), {}),
    ("TripletMarginLoss", lambda nn: nn.TripletMarginLoss(), (x(4, 3), x(4, 3), x(4, 3)), {}),
    ("TripletMarginWithDistanceLoss", lambda nn: nn.TripletMarginWithDistanceLoss(),
     (x(4, 3), x(4, 3), x(4, 3)), {}),
    ("TripletMarginWithDistanceLoss_cosine", lambda nn: nn.TripletMarginWithDistanceLoss(
        distance_function=lambda a, b: 1 - nn.functional.cosine_similarity(a, b), margin=0.5,
        swap=True), (x(4, 3), x(4, 3), x(4, 3)), {}),
    ("MultiMarginLoss", lambda nn: nn.MultiMarginLoss(), (x(4, 5), idx(5, 4)), {}),
    ("MultiMarginLoss_p2", lambda nn: nn.MultiMarginLoss(p=2, margin=0.5, reduction="none"),
     (x(4, 5), idx(5, 4)), {}),
    ("MultiLabelMarginLoss", lambda nn: nn.MultiLabelMarginLoss(),
     (x(3, 4), np.array([[3, 0, -1, 1], [1, 2, 1, 3], [-1, 2, 0, 0]])), {}),
    ("PoissonNLLLoss", lambda nn: nn.PoissonNLLLoss(), (x(3, 4), pos(3, 4) * 3), {}),
    ("SoftMarginLoss", lambda nn: nn.SoftMarginLoss(),
     (x(3, 4), Const(np.sign(x(3, 4)))), {}),
    ("Conv1d", lambda nn: nn.Conv1d(2, 4, 3, stride=2, padding=1), (x(2, 2, 9),), {}),
    ("Conv2d", lambda nn: nn.Conv2d(2, 4, 3, padding=1, groups=2), (x(2, 2, 5, 5),), {}),
    ("Conv2d_reflect", lambda nn: nn.Conv2d(2, 3, (3, 2), padding="same",
                                            padding_mode="reflect"), (x(1, 2, 5, 6),), {}),
    ("Conv2d_circular", lambda nn: nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular"),
     (x(1, 2, 5, 5),), {}),
    ("Conv3d", lambda nn: nn.Conv3d(2, 3, 2, dilation=(1, 2, 1)), (x(1, 2, 4, 5, 4),), {}),
    ("ConvTranspose1d", lambda nn: nn.ConvTranspose1d(2, 3, 3, stride=2), (x(2, 2, 5),), {}),
    ("ConvTranspose2d", lambda nn: nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1,
                                                      output_padding=1, groups=2),
     (x(1, 2, 4, 4),), {}),
    ("ConvTranspose3d", lambda nn: nn.ConvTranspose3d(2, 2, 2), (x(1, 2, 3, 3, 3),), {}),
    ("MaxPool1d", lambda nn: nn.MaxPool1d(3, 2), (x(2, 3, 9),), {}),
    ("MaxPool2d", lambda nn: nn.MaxPool2d(2), (x(2, 3, 6, 6),), {}),
    ("MaxPool2d_indices", lambda nn: nn.MaxPool2d(3, 2, 1, return_indices=True),
     (x(1, 2, 7, 7),), {}),
    ("MaxPool3d", lambda nn: nn.MaxPool3d(2), (x(1, 2, 4, 4, 4),), {}),
    ("MaxUnpool1d", lambda nn: nn.MaxUnpool1d(3, 2, 1), (x(2, 3, 9),), {
        "call": lambda lib, m, a: m(*lib.nn.functional.max_pool1d(a, 3, 2, 1,
                                                                  return_indices=True))}),
    ("MaxUnpool2d_size", lambda nn: nn.MaxUnpool2d(2), (x(2, 3, 5, 5),), {
        "call": lambda lib, m, a: m(*lib.nn.functional.max_pool2d(a, 2, return_indices=True),
                                    output_size=(5, 5))}),
    ("MaxUnpool3d", lambda nn: nn.MaxUnpool3d(2), (x(1, 2, 4, 4, 4),), {
        "call": lambda lib, m, a: m(*lib.nn.functional.max_pool3d(a, 2, return_indices=True))}),
    ("AvgPool1d", lambda nn: nn.AvgPool1d(3, 2, 1), (x(2, 3, 9),), {}),
    ("AvgPool2d", lambda nn: nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False),
     (x(2, 3, 5, 5),), {}),
    ("AvgPool3d", lambda nn: nn.AvgPool3d(2), (x(1, 2, 4, 4, 4),), {}),
    ("LPPool1d", lambda nn: nn.LPPool1d(2, 3, 2), (x(2, 3, 9),), {}),
    ("LPPool2d", lambda nn: nn.LPPool2d(1.5, (2, 3), ceil_mode=True), (pos(2, 3, 5, 7),), {}),
    ("LPPool3d", lambda nn: nn.LPPool3d(3, 2), (pos(1, 2, 4, 4, 4),), {}),
    ("Unfold", lambda nn: nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=2),
     (x(2, 3, 5, 6),), {}),
    ("Fold", lambda nn: nn.Fold((4, 5), (2, 2), padding=1, stride=(1, 2)), (x(2, 12, 15),), {}),
    ("AdaptiveAvgPool1d", lambda nn: nn.AdaptiveAvgPool1d(3), (x(2, 3, 7),), {}),
    ("AdaptiveAvgPool2d", lambda nn: nn.AdaptiveAvgPool2d((2, 3)), (x(2, 3, 5, 7),), {}),
    ("AdaptiveAvgPool3d", lambda nn: nn.AdaptiveAvgPool3d(2), (x(1, 2, 4, 5, 3),), {}),
    ("AdaptiveMaxPool1d", lambda nn: nn.AdaptiveMaxPool1d(3), (x(2, 3, 7),), {}),
    ("AdaptiveMaxPool2d", lambda nn: nn.AdaptiveMaxPool2d((2, 3)), (x(2, 3, 5, 7),), {}),
    ("BatchNorm1d_train", lambda nn: nn.BatchNorm1d(3), (x(4, 3),), {"train": True}),
    ("BatchNorm1d_3d", lambda nn: nn.BatchNorm1d(3, momentum=None), (x(4, 3, 5),),
     {"train": True}),
    ("BatchNorm2d_train", lambda nn: nn.BatchNorm2d(3), (x(2, 3, 4, 4),), {"train": True}),
    ("BatchNorm2d_eval", lambda nn: nn.BatchNorm2d(3), (x(2, 3, 4, 4),), {}),
    ("BatchNorm2d_nostats", lambda nn: nn.BatchNorm2d(3, affine=False,
                                                      track_running_stats=False),
     (x(2, 3, 4, 4),), {}),
    ("BatchNorm3d", lambda nn: nn.BatchNorm3d(2), (x(2, 2, 3, 3, 3),), {"train": True}),
    ("LayerNorm", lambda nn: nn.LayerNorm((3, 4)), (x(2, 3, 4),), {}),
    ("LayerNorm_nobias", lambda nn: nn.LayerNorm(4, bias=False), (x(2, 3, 4),), {}),
    ("GroupNorm", lambda nn: nn.GroupNorm(2, 4), (x(2, 4, 3, 3),), {}),
    ("RMSNorm", lambda nn: nn.RMSNorm(4, eps=1e-6), (x(2, 3, 4),), {}),
    ("InstanceNorm1d", lambda nn: nn.InstanceNorm1d(3), (x(2, 3, 6),), {}),
    ("InstanceNorm2d_affine", lambda nn: nn.InstanceNorm2d(3, affine=True,
                                                           track_running_stats=True),
     (x(2, 3, 4, 4),), {"train": True}),
    ("InstanceNorm3d_unbatched", lambda nn: nn.InstanceNorm3d(2), (x(2, 3, 3, 3),), {}),
    ("LocalResponseNorm", lambda nn: nn.LocalResponseNorm(3), (x(2, 5, 4, 4),), {}),
    ("Dropout_eval", lambda nn: nn.Dropout(0.5), (x(3, 4),), {}),
    ("Embedding", lambda nn: nn.Embedding(10, 3, padding_idx=1), (idx(10, 2, 5),), {}),
    ("EmbeddingBag", lambda nn: nn.EmbeddingBag(10, 3, mode="sum"), (idx(10, 3, 4),), {}),
    ("PixelShuffle", lambda nn: nn.PixelShuffle(2), (x(1, 8, 3, 3),), {}),
    ("PixelUnshuffle", lambda nn: nn.PixelUnshuffle(2), (x(1, 2, 4, 6),), {}),
    ("Upsample_nearest", lambda nn: nn.Upsample(scale_factor=2), (x(1, 2, 3, 3),), {}),
    ("Upsample_bilinear", lambda nn: nn.Upsample(size=(5, 4), mode="bilinear",
                                                 align_corners=False), (x(1, 2, 3, 3),), {}),
    ("ZeroPad2d", lambda nn: nn.ZeroPad2d((1, 2, 0, 1)), (x(1, 2, 3, 3),), {}),
    ("ConstantPad1d", lambda nn: nn.ConstantPad1d(2, 3.5), (x(1, 2, 3),), {}),
    ("ConstantPad3d", lambda nn: nn.ConstantPad3d(1, -1.0), (x(1, 1, 2, 2, 2),), {}),
    ("ReflectionPad2d", lambda nn: nn.ReflectionPad2d(2), (x(1, 2, 4, 4),), {}),
    ("ReplicationPad2d", lambda nn: nn.ReplicationPad2d((1, 0, 2, 1)), (x(1, 2, 3, 3),), {}),
    ("CosineSimilarity", lambda nn: nn.CosineSimilarity(dim=1), (x(3, 4), x(3, 4)), {}),
    ("PairwiseDistance", lambda nn: nn.PairwiseDistance(p=3.0), (x(3, 4), x(3, 4)), {}),
    ("ChannelShuffle", lambda nn: nn.ChannelShuffle(2), (x(1, 4, 2, 2),), {}),
    ("Sequential", lambda nn: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)),
     (x(3, 4),), {}),
]


@pytest.mark.parametrize("make,args,opts", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_layer_matches_torch(make, args, opts):
    compare_module(lambda lib: make(lib.nn), args, **opts)
