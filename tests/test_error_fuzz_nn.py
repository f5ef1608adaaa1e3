"""Bad input to the library layer (nn, nn.functional, optim, lr_scheduler, data, save/load)
fails as PyTorch fails: the same exception type, and a message that names the op or layer and
the shapes/dtypes involved, never raw NumPy text, never a silent result.

Each case is ``(id, fn, words)``: ``fn(lib)`` runs unchanged on ``torch`` and ``deepseek``;
``words`` must all appear in deepseek's message (case-insensitive).
"""

from __future__ import annotations

import io

import pytest
import torch

import deepseek as ds

RAW_NUMPY = ("operands could not be broadcast", "axiserror", "index out of bounds",
             "invalid literal", "cannot reshape array", "object of type 'nonetype'",
             "'nonetype' object", "unsupported operand type", "setting an array element",
             "matmul: input operand", "tuple index out of range", "list index out of range",
             "too many indices", "division by zero", "not supported between instances")


def f32(lib, *shape):
    return lib.ones(*shape)


def i64(lib, *shape):
    return lib.ones(*shape, dtype=lib.int64)


def i32(lib, *shape):
    return lib.ones(*shape, dtype=lib.int32)


def _F(lib):
    return lib.nn.functional


def _params(lib):
    return [lib.nn.Parameter(lib.ones(2, 2))]


def _opt(lib, name, **kw):
    return getattr(lib.optim, name)(_params(lib), **kw)


def _sched(lib, name, *args, **kw):
    return getattr(lib.optim.lr_scheduler, name)(_opt(lib, "SGD", lr=0.1), *args, **kw)


def _mha(lib, **kw):
    x = f32(lib, 3, 2, 4)
    return lib.nn.MultiheadAttention(4, 2)(x, x, x, **kw)


def _loader(lib, *args, **kw):
    data = lib.utils.data.TensorDataset(lib.ones(4, 2))
    return list(lib.utils.data.DataLoader(data, *args, **kw))


CASES = [
    # ------------------------------------------------------------------ linear / bilinear
    ("linear-int-input", lambda L: L.nn.Linear(3, 2)(i64(L, 2, 3)), ("linear", "int64")),
    ("linear-wrong-in", lambda L: L.nn.Linear(3, 2)(f32(L, 2, 4)), ("linear", "[2, 4]")),
    ("linear-neg-features", lambda L: L.nn.Linear(-1, 2), ("linear", "-1")),
    ("F.linear-int-weight", lambda L: _F(L).linear(f32(L, 2, 3), i64(L, 2, 3)),
     ("linear", "int64")),
    ("F.linear-bias-shape", lambda L: _F(L).linear(f32(L, 2, 3), f32(L, 4, 3), f32(L, 3)),
     ("linear",)),
    ("F.linear-none", lambda L: _F(L).linear(None, f32(L, 2, 3)), ("linear", "none")),
    ("bilinear-wrong-in", lambda L: L.nn.Bilinear(3, 4, 2)(f32(L, 2, 3), f32(L, 2, 3)),
     ("bilinear",)),
    # ------------------------------------------------------------------ conv
    ("conv2d-3d-weight-rank", lambda L: L.nn.Conv2d(3, 4, 3)(f32(L, 2, 3, 8, 8, 1)),
     ("conv2d",)),
    ("conv2d-channels", lambda L: L.nn.Conv2d(3, 4, 3)(f32(L, 1, 5, 8, 8)),
     ("conv2d", "[1, 5, 8, 8]")),
    ("conv2d-int-input", lambda L: L.nn.Conv2d(3, 4, 3)(i64(L, 1, 3, 8, 8)),
     ("conv2d", "int64")),
    ("conv2d-kernel-too-big", lambda L: L.nn.Conv2d(3, 4, 5)(f32(L, 1, 3, 3, 3)),
     ("conv2d",)),
    ("conv2d-kernel-0", lambda L: L.nn.Conv2d(3, 4, 0)(f32(L, 1, 3, 8, 8)),
     ("conv2d", "kernel")),
    ("conv2d-groups", lambda L: L.nn.Conv2d(3, 4, 3, groups=2), ("conv2d", "groups")),
    ("conv2d-out-groups", lambda L: L.nn.Conv2d(4, 6, 3, groups=4), ("conv2d", "groups")),
    ("conv2d-neg-padding", lambda L: L.nn.Conv2d(3, 4, 3, padding=-1)(f32(L, 1, 3, 8, 8)),
     ("conv2d", "padding")),
    ("conv2d-bad-padding-str", lambda L: L.nn.Conv2d(3, 4, 3, padding="full"),
     ("conv2d", "padding")),
    ("conv2d-same-stride", lambda L: L.nn.Conv2d(3, 4, 3, padding="same", stride=2),
     ("conv2d", "same")),
    ("conv2d-padding-mode", lambda L: L.nn.Conv2d(3, 4, 3, padding_mode="mirror"),
     ("conv2d", "padding_mode")),
    ("conv2d-stride-0", lambda L: L.nn.Conv2d(3, 4, 3, stride=0)(f32(L, 1, 3, 8, 8)),
     ("conv2d", "stride")),
    ("conv1d-2d-input", lambda L: L.nn.Conv1d(3, 4, 3)(f32(L, 3, 8, 8, 2)), ("conv1d",)),
    ("convT2d-channels", lambda L: L.nn.ConvTranspose2d(3, 4, 3)(f32(L, 1, 4, 5, 5)),
     ("conv_transpose2d",)),
    ("F.conv2d-weight-rank", lambda L: _F(L).conv2d(f32(L, 1, 3, 8, 8), f32(L, 4, 3, 3)),
     ("conv2d",)),
    # ------------------------------------------------------------------ pooling
    ("maxpool2d-kernel-0", lambda L: L.nn.MaxPool2d(0)(f32(L, 1, 1, 4, 4)),
     ("max_pool2d", "kernel")),
    ("maxpool2d-pad-gt-half", lambda L: L.nn.MaxPool2d(2, padding=2)(f32(L, 1, 1, 4, 4)),
     ("max_pool2d", "pad")),
    ("maxpool2d-1d-input", lambda L: L.nn.MaxPool2d(2)(f32(L, 4)), ("max_pool2d",)),
    ("avgpool2d-too-small", lambda L: L.nn.AvgPool2d(5)(f32(L, 1, 1, 4, 4)), ("avg_pool2d",)),
    ("avgpool2d-neg-stride", lambda L: L.nn.AvgPool2d(2, stride=-1)(f32(L, 1, 1, 4, 4)),
     ("avg_pool2d", "stride")),
    ("adaptive-avg-size-neg", lambda L: L.nn.AdaptiveAvgPool2d(-1)(f32(L, 1, 1, 4, 4)),
     ("adaptive_avg_pool2d",)),
    ("adaptive-max-rank", lambda L: L.nn.AdaptiveMaxPool2d(2)(f32(L, 4)),
     ("adaptive_max_pool2d",)),
    # ------------------------------------------------------------------ normalization
    ("batchnorm2d-3d", lambda L: L.nn.BatchNorm2d(3)(f32(L, 3, 4, 4)),
     ("batchnorm2d", "4d", "3d")),
    ("batchnorm1d-channels", lambda L: L.nn.BatchNorm1d(3)(f32(L, 4, 5)),
     ("batch_norm", "[4, 5]")),
    ("batchnorm-int", lambda L: L.nn.BatchNorm1d(3)(i64(L, 4, 3)), ("batch_norm", "int64")),
    ("batchnorm-one-value", lambda L: L.nn.BatchNorm1d(3)(f32(L, 1, 3)),
     ("batch", "[1, 3]")),
    ("layernorm-shape", lambda L: L.nn.LayerNorm(4)(f32(L, 2, 3)), ("layer_norm", "[2, 3]")),
    ("layernorm-int", lambda L: L.nn.LayerNorm(3)(i64(L, 2, 3)), ("layer_norm", "int64")),
    ("groupnorm-divide", lambda L: L.nn.GroupNorm(3, 4), ("groupnorm", "divisible")),
    ("groupnorm-channels", lambda L: L.nn.GroupNorm(2, 4)(f32(L, 2, 6, 3)), ("group_norm",)),
    ("instancenorm-rank", lambda L: L.nn.InstanceNorm2d(3)(f32(L, 3, 4)),
     ("instancenorm2d",)),
    ("rmsnorm-shape", lambda L: L.nn.RMSNorm(4)(f32(L, 2, 3)), ("rms_norm", "[2, 3]")),
    ("F.normalize-int", lambda L: _F(L).normalize(i64(L, 2, 3)), ("normalize",)),
    # ------------------------------------------------------------------ dropout, activations
    ("dropout-p-neg", lambda L: L.nn.Dropout(-0.1), ("dropout", "-0.1")),
    ("dropout-p-gt1", lambda L: L.nn.Dropout(1.5), ("dropout", "1.5")),
    ("F.dropout-p", lambda L: _F(L).dropout(f32(L, 2), p=2.0), ("dropout", "2.0")),
    ("dropout2d-p", lambda L: L.nn.Dropout2d(1.1), ("dropout", "1.1")),
    ("alpha-dropout-p", lambda L: _F(L).alpha_dropout(f32(L, 2), p=-1.0), ("dropout",)),
    ("F.relu-none", lambda L: _F(L).relu(None), ("relu", "none")),
    ("F.gelu-int", lambda L: _F(L).gelu(i64(L, 2)), ("gelu", "int64")),
    ("F.gelu-approx", lambda L: _F(L).gelu(f32(L, 2), approximate="fast"),
     ("gelu", "fast")),
    ("F.softmax-dim", lambda L: _F(L).softmax(f32(L, 2, 3), dim=2), ("softmax", "2")),
    ("F.log_softmax-int", lambda L: _F(L).log_softmax(i64(L, 2, 3), dim=1),
     ("log_softmax", "int64")),
    ("F.glu-odd", lambda L: _F(L).glu(f32(L, 2, 3)), ("glu", "3")),
    ("prelu-channels", lambda L: L.nn.PReLU(3)(f32(L, 2, 4)), ("prelu",)),
    ("F.silu-int", lambda L: _F(L).silu(i64(L, 2)), ("silu", "int64")),
    ("F.elu-int", lambda L: _F(L).elu(i64(L, 2)), ("elu", "int64")),
    ("softmax2d-rank", lambda L: L.nn.Softmax2d()(f32(L, 2, 3)), ("softmax2d",)),
    ("F.hardtanh-range", lambda L: _F(L).hardtanh(f32(L, 2), 1.0, -1.0), ("hardtanh",)),
    # ------------------------------------------------------------------ embedding
    ("embedding-float-idx", lambda L: L.nn.Embedding(5, 3)(f32(L, 2)),
     ("embedding", "float32")),
    ("embedding-oob", lambda L: L.nn.Embedding(5, 3)(L.tensor([7])), ("embedding", "7")),
    ("embedding-neg-num", lambda L: L.nn.Embedding(-1, 3), ("embedding",)),
    ("embedding-padding-idx", lambda L: L.nn.Embedding(5, 3, padding_idx=9),
     ("padding_idx",)),
    ("F.one_hot-float", lambda L: _F(L).one_hot(f32(L, 2)), ("one_hot",)),
    ("F.one_hot-oob", lambda L: _F(L).one_hot(L.tensor([3]), 2), ("one_hot",)),
    # ------------------------------------------------------------------ losses
    ("ce-float-target-shape", lambda L: _F(L).cross_entropy(f32(L, 3, 5), f32(L, 3)),
     ("cross_entropy",)),
    ("ce-batch-mismatch", lambda L: _F(L).cross_entropy(f32(L, 3, 5), i64(L, 4)),
     ("cross_entropy", "[3, 5]", "[4]")),
    ("ce-class-oob", lambda L: _F(L).cross_entropy(f32(L, 3, 5), L.tensor([0, 1, 9])),
     ("cross_entropy", "9")),
    ("ce-reduction", lambda L: _F(L).cross_entropy(f32(L, 3, 5), i64(L, 3), reduction="avg"),
     ("avg",)),
    ("ce-weight-size", lambda L: L.nn.CrossEntropyLoss(weight=f32(L, 4))(f32(L, 3, 5),
                                                                         i64(L, 3)),
     ("cross_entropy",)),
    ("ce-smoothing", lambda L: _F(L).cross_entropy(f32(L, 3, 5), i64(L, 3),
                                                   label_smoothing=1.5),
     ("label_smoothing",)),
    ("nll-batch-mismatch", lambda L: _F(L).nll_loss(f32(L, 3, 5), i64(L, 2)),
     ("nll_loss", "[3, 5]")),
    ("nll-float-target", lambda L: _F(L).nll_loss(f32(L, 3, 5), f32(L, 3)),
     ("nll_loss", "float32")),
    ("mse-shape", lambda L: _F(L).mse_loss(f32(L, 3, 2), f32(L, 4, 2)), ("mse_loss",)),
    ("l1-int", lambda L: _F(L).l1_loss(i64(L, 3), i64(L, 3)), ("l1_loss",)),
    ("bce-shape", lambda L: _F(L).binary_cross_entropy(f32(L, 3) / 2, f32(L, 4)),
     ("binary_cross_entropy", "[3]", "[4]")),
    ("bce-out-of-range", lambda L: _F(L).binary_cross_entropy(f32(L, 3) * 2, f32(L, 3)),
     ("binary_cross_entropy",)),
    ("bce-logits-shape", lambda L: _F(L).binary_cross_entropy_with_logits(f32(L, 3),
                                                                         f32(L, 2)),
     ("binary_cross_entropy_with_logits", "[3]", "[2]")),
    ("bce-int-target", lambda L: _F(L).binary_cross_entropy_with_logits(f32(L, 3),
                                                                       i64(L, 3)),
     ("binary_cross_entropy_with_logits", "int64")),
    ("kl-reduction", lambda L: _F(L).kl_div(f32(L, 3), f32(L, 3), reduction="none2"),
     ("none2",)),
    ("smooth-l1-beta", lambda L: _F(L).smooth_l1_loss(f32(L, 3), f32(L, 3), beta=-1.0),
     ("smooth_l1_loss", "beta")),
    ("huber-delta", lambda L: _F(L).huber_loss(f32(L, 3), f32(L, 3), delta=-1.0),
     ("huber_loss", "delta")),
    ("gaussian-var-shape", lambda L: _F(L).gaussian_nll_loss(f32(L, 3, 2), f32(L, 3, 2),
                                                             f32(L, 4, 2)),
     ("gaussian_nll_loss",)),
    ("margin-ranking-shape", lambda L: _F(L).margin_ranking_loss(f32(L, 3), f32(L, 3),
                                                                 f32(L, 4)),
     ("margin_ranking_loss",)),
    ("triplet-shape", lambda L: _F(L).triplet_margin_loss(f32(L, 3, 2), f32(L, 3, 2),
                                                          f32(L, 3, 4)),
     ("triplet_margin_loss",)),
    ("cosine-embedding-shape", lambda L: _F(L).cosine_embedding_loss(f32(L, 3, 2),
                                                                     f32(L, 3, 2), f32(L, 4)),
     ("cosine_embedding_loss",)),
    ("loss-module-reduction", lambda L: L.nn.MSELoss(reduction="avg")(f32(L, 2), f32(L, 2)),
     ("avg",)),
    # ------------------------------------------------------------------ shape layers
    ("pixel-shuffle-divide", lambda L: L.nn.PixelShuffle(2)(f32(L, 1, 3, 2, 2)),
     ("pixel_shuffle",)),
    ("unflatten-size", lambda L: L.nn.Unflatten(1, (2, 2))(f32(L, 2, 5)), ("unflatten",)),
    ("flatten-dim", lambda L: L.nn.Flatten(3)(f32(L, 2, 3)), ("flatten",)),
    ("F.pad-mode", lambda L: _F(L).pad(f32(L, 1, 1, 3), (1, 1), mode="mirror"),
     ("pad", "mirror")),
    ("F.pad-odd", lambda L: _F(L).pad(f32(L, 1, 1, 3), (1,)), ("pad",)),
    ("F.pad-reflect-too-big", lambda L: _F(L).pad(f32(L, 1, 1, 3), (3, 3), mode="reflect"),
     ("pad",)),
    ("interpolate-no-size", lambda L: _F(L).interpolate(f32(L, 1, 1, 4)), ("interpolate",)),
    ("interpolate-mode", lambda L: _F(L).interpolate(f32(L, 1, 1, 4), size=8, mode="cubic"),
     ("interpolate", "cubic")),
    ("upsample-bilinear-3d", lambda L: L.nn.Upsample(scale_factor=2, mode="bilinear")(
        f32(L, 1, 1, 4)), ("bilinear",)),
    ("unfold-rank", lambda L: _F(L).unfold(f32(L, 1, 1, 3, 4, 5), 2),
     ("unfold", "[1, 1, 3, 4, 5]")),
    ("cosine-similarity-shape", lambda L: _F(L).cosine_similarity(f32(L, 3, 2),
                                                                  f32(L, 4, 2)),
     ("cosine_similarity",)),
    ("pairwise-distance-shape", lambda L: _F(L).pairwise_distance(f32(L, 3, 2),
                                                                  f32(L, 4, 2)),
     ("pairwise_distance",)),
    # ------------------------------------------------------------------ recurrent, attention
    ("lstm-input-size", lambda L: L.nn.LSTM(3, 4)(f32(L, 5, 2, 6)), ("lstm", "3", "6")),
    ("lstm-rank", lambda L: L.nn.LSTM(3, 4)(f32(L, 3)), ("lstm",)),
    ("gru-dropout", lambda L: L.nn.GRU(3, 4, dropout=2.0), ("dropout",)),
    ("rnn-nonlinearity", lambda L: L.nn.RNN(3, 4, nonlinearity="gelu"), ("gelu",)),
    ("rnn-hidden-shape", lambda L: L.nn.RNN(3, 4)(f32(L, 5, 2, 3), f32(L, 1, 3, 4)),
     ("hidden", "[1, 3, 4]")),
    ("lstmcell-input", lambda L: L.nn.LSTMCell(3, 4)(f32(L, 2, 5)), ("lstmcell",)),
    ("mha-divisible", lambda L: L.nn.MultiheadAttention(6, 4), ("embed_dim",)),
    ("mha-embed", lambda L: L.nn.MultiheadAttention(4, 2)(f32(L, 3, 2, 5), f32(L, 3, 2, 5),
                                                          f32(L, 3, 2, 5)),
     ("multi", "4")),
    ("sdpa-shape", lambda L: _F(L).scaled_dot_product_attention(f32(L, 2, 3, 4),
                                                                f32(L, 2, 3, 5),
                                                                f32(L, 2, 3, 5)),
     ("scaled_dot_product_attention",)),
    ("sdpa-mask", lambda L: _F(L).scaled_dot_product_attention(
        f32(L, 1, 2, 3, 4), f32(L, 1, 2, 5, 4), f32(L, 1, 2, 5, 4),
        attn_mask=L.ones(3, 4, dtype=L.bool)), ("attn_mask of shape [3, 4]", "[1, 2, 3, 5]")),
    ("transformer-layer-heads", lambda L: L.nn.TransformerEncoderLayer(6, 4), ("embed_dim",)),
    # ------------------------------------------------------------------ containers, module
    ("sequential-bad-child", lambda L: L.nn.Sequential(L.nn.ReLU(), 3), ("int",)),
    ("modulelist-bad-child", lambda L: L.nn.ModuleList([3]), ("int",)),
    ("module-to-int", lambda L: L.nn.Linear(2, 2).to(L.int64), ("int64",)),
    ("load-state-dict-shape", lambda L: L.nn.Linear(2, 2).load_state_dict(
        {"weight": f32(L, 3, 2), "bias": f32(L, 2)}), ("size mismatch", "weight")),
    ("load-state-dict-missing", lambda L: L.nn.Linear(2, 2).load_state_dict(
        {"weight": f32(L, 2, 2)}), ("missing", "bias")),
    ("parameter-assign-int", lambda L: setattr(L.nn.Linear(2, 2), "weight", f32(L, 2, 2)),
     ("weight",)),
    # ------------------------------------------------------------------ init
    ("init-kaiming-1d", lambda L: L.nn.init.kaiming_uniform_(f32(L, 3)), ("fan",)),
    ("init-xavier-1d", lambda L: L.nn.init.xavier_uniform_(f32(L, 3)), ("fan",)),
    ("init-orthogonal-1d", lambda L: L.nn.init.orthogonal_(f32(L, 3)), ("2",)),
    ("init-eye-3d", lambda L: L.nn.init.eye_(f32(L, 2, 2, 2)), ("2",)),
    ("init-gain-nonlinearity", lambda L: L.nn.init.calculate_gain("swish"), ("swish",)),
    ("init-sparse-3d", lambda L: L.nn.init.sparse_(f32(L, 2, 2, 2), 0.5), ("2",)),
    # ------------------------------------------------------------------ nn.utils
    ("clip-grad-norm-type", lambda L: L.nn.utils.clip_grad_norm_(_params(L), 1.0,
                                                                 norm_type="fro2"),
     ("fro2",)),
    ("vector-to-params-size", lambda L: L.nn.utils.vector_to_parameters(f32(L, 3),
                                                                        _params(L)),
     ("3",)),
    ("pad-sequence-dims", lambda L: L.nn.utils.rnn.pad_sequence([f32(L, 2, 3), f32(L, 2, 4)]),
     ("pad_sequence",)),
    ("pack-lengths-unsorted", lambda L: L.nn.utils.rnn.pack_padded_sequence(
        f32(L, 3, 2, 1), [1, 3]), ("sorted",)),
    # ------------------------------------------------------------------ optim
    ("sgd-neg-lr", lambda L: _opt(L, "SGD", lr=-0.1), ("learning rate", "-0.1")),
    ("sgd-neg-momentum", lambda L: _opt(L, "SGD", lr=0.1, momentum=-1), ("momentum",)),
    ("sgd-nesterov", lambda L: _opt(L, "SGD", lr=0.1, nesterov=True), ("nesterov",)),
    ("sgd-weight-decay", lambda L: _opt(L, "SGD", lr=0.1, weight_decay=-1),
     ("weight_decay",)),
    ("adam-betas", lambda L: _opt(L, "Adam", betas=(1.5, 0.9)), ("beta", "1.5")),
    ("adam-eps", lambda L: _opt(L, "Adam", eps=-1e-8), ("epsilon",)),
    ("adamw-lr", lambda L: _opt(L, "AdamW", lr=-1.0), ("learning rate",)),
    ("rmsprop-alpha", lambda L: _opt(L, "RMSprop", alpha=-1.0), ("alpha",)),
    ("adagrad-lr-decay", lambda L: _opt(L, "Adagrad", lr_decay=-1.0), ("lr_decay",)),
    ("adadelta-rho", lambda L: _opt(L, "Adadelta", rho=2.0), ("rho",)),
    ("adamax-betas", lambda L: _opt(L, "Adamax", betas=(0.9, 1.0)), ("beta",)),
    ("nadam-momentum-decay", lambda L: _opt(L, "NAdam", momentum_decay=-1.0),
     ("momentum_decay",)),
    ("radam-eps", lambda L: _opt(L, "RAdam", eps=-1.0), ("epsilon",)),
    ("optim-empty", lambda L: L.optim.SGD([], lr=0.1), ("empty",)),
    ("optim-tensor-params", lambda L: L.optim.SGD(L.ones(2, requires_grad=True), lr=0.1),
     ("iterable",)),
    ("optim-non-leaf", lambda L: L.optim.SGD([L.ones(2, requires_grad=True) * 2], lr=0.1),
     ("leaf",)),
    ("optim-bad-state-dict", lambda L: _opt(L, "SGD", lr=0.1).load_state_dict(
        {"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}, {"lr": 0.1, "params": [1]}]}),
     ("group",)),
    ("optim-param-group-overlap", lambda L: (lambda p: L.optim.SGD(
        [{"params": [p]}, {"params": [p]}], lr=0.1))(_params(L)[0]),
     ("more than one",)),
    # ------------------------------------------------------------------ lr_scheduler
    ("steplr-not-optimizer", lambda L: L.optim.lr_scheduler.StepLR(None, 1),
     ("optimizer",)),
    ("lambdalr-len", lambda L: _sched(L, "LambdaLR", [lambda e: 1.0, lambda e: 1.0]),
     ("lr_lambda",)),
    ("multistep-int", lambda L: _sched(L, "MultiStepLR", 5), ("milestones",)),
    ("constantlr-factor", lambda L: _sched(L, "ConstantLR", factor=2.0), ("factor",)),
    ("linearlr-start", lambda L: _sched(L, "LinearLR", start_factor=0.0),
     ("start",)),
    ("cosine-warm-t0", lambda L: _sched(L, "CosineAnnealingWarmRestarts", 0), ("t_0",)),
    ("cosine-warm-tmult", lambda L: _sched(L, "CosineAnnealingWarmRestarts", 2, T_mult=0),
     ("t_mult",)),
    ("onecycle-no-steps", lambda L: _sched(L, "OneCycleLR", 0.1), ("total_steps",)),
    ("onecycle-anneal", lambda L: _sched(L, "OneCycleLR", 0.1, total_steps=10,
                                         anneal_strategy="exp"), ("anneal_strategy",)),
    ("plateau-mode", lambda L: _sched(L, "ReduceLROnPlateau", mode="mid"), ("mode",)),
    ("plateau-factor", lambda L: _sched(L, "ReduceLROnPlateau", factor=1.0), ("factor",)),
    ("cyclic-mode", lambda L: _sched(L, "CyclicLR", 0.01, 0.1, mode="sine"), ("mode",)),
    ("sequential-milestones", lambda L: (lambda o: L.optim.lr_scheduler.SequentialLR(
        o, [L.optim.lr_scheduler.StepLR(o, 1), L.optim.lr_scheduler.StepLR(o, 1)],
        milestones=[1, 2]))(_opt(L, "SGD", lr=0.1)), ("milestones",)),
    # ------------------------------------------------------------------ data
    ("loader-neg-workers", lambda L: _loader(L, num_workers=-1), ("num_workers",)),
    ("loader-shuffle-sampler", lambda L: _loader(
        L, sampler=L.utils.data.SequentialSampler(range(4)), shuffle=True), ("shuffle",)),
    ("loader-batch-sampler", lambda L: _loader(L, batch_sampler=[[0, 1]], batch_size=2),
     ("batch_sampler",)),
    ("loader-drop-last-none", lambda L: _loader(L, batch_size=None, drop_last=True),
     ("drop_last",)),
    ("loader-timeout", lambda L: _loader(L, timeout=-1), ("timeout",)),
    ("batch-sampler-size", lambda L: L.utils.data.BatchSampler(range(4), 0, False),
     ("batch_size",)),
    ("batch-sampler-drop", lambda L: L.utils.data.BatchSampler(range(4), 2, "yes"),
     ("drop_last",)),
    ("random-sampler-num", lambda L: L.utils.data.RandomSampler(range(4), num_samples=0),
     ("num_samples",)),
    ("weighted-sampler-num", lambda L: L.utils.data.WeightedRandomSampler([1.0, 2.0], -1),
     ("num_samples",)),
    ("tensor-dataset-size", lambda L: L.utils.data.TensorDataset(f32(L, 3), f32(L, 4)),
     ("size",)),
    ("random-split-sum", lambda L: L.utils.data.random_split(range(5), [2, 2]),
     ("sum",)),
    ("collate-mixed", lambda L: L.utils.data.default_collate([f32(L, 2), f32(L, 3)]),
     ("stack",)),
    ("collate-object", lambda L: L.utils.data.default_collate([object(), object()]),
     ("object",)),
]


# Common mistakes of PyTorch users, by area.
MORE_CASES = [
    # ------------------------------------------------------------------ class-index losses
    ("ce-int32-target", lambda L: _F(L).cross_entropy(f32(L, 3, 5), i32(L, 3)),
     ("cross_entropy", "int32")),
    ("ce-bool-target", lambda L: _F(L).cross_entropy(f32(L, 3, 5), L.ones(3, dtype=L.bool)),
     ("cross_entropy", "bool")),
    ("ce-multi-target", lambda L: _F(L).cross_entropy(f32(L, 3, 5), i64(L, 3, 5)),
     ("cross_entropy",)),
    ("ce-int-input", lambda L: _F(L).cross_entropy(i64(L, 3, 5), i64(L, 3)),
     ("cross_entropy", "int64")),
    ("ce-1d-input-2d-target", lambda L: _F(L).cross_entropy(f32(L, 5), i64(L, 2)),
     ("cross_entropy",)),
    ("nll-int32-target", lambda L: _F(L).nll_loss(f32(L, 3, 5), i32(L, 3)),
     ("nll_loss", "int32")),
    ("nll-class-neg", lambda L: _F(L).nll_loss(f32(L, 3, 5), L.tensor([0, -3, 1])),
     ("nll_loss", "-3")),
    ("nll-spatial-target", lambda L: _F(L).nll_loss(f32(L, 2, 5, 4, 4), i64(L, 2, 3, 4)),
     ("nll_loss",)),
    # ------------------------------------------------------------------ other losses
    ("mse-batch-mismatch", lambda L: _F(L).mse_loss(f32(L, 3, 5), f32(L, 4, 5)),
     ("mse_loss", "[3, 5]", "[4, 5]")),
    ("l1-batch-mismatch", lambda L: L.nn.L1Loss()(f32(L, 8, 1), f32(L, 6, 1)),
     ("l1_loss", "[8, 1]")),
    ("smooth-l1-mismatch", lambda L: _F(L).smooth_l1_loss(f32(L, 3), f32(L, 2)),
     ("smooth_l1_loss",)),
    ("bce-logits-weight", lambda L: _F(L).binary_cross_entropy_with_logits(
        f32(L, 3, 2), f32(L, 3, 2), weight=f32(L, 4)), ("binary_cross_entropy_with_logits",)),
    ("bce-logits-pos-weight", lambda L: _F(L).binary_cross_entropy_with_logits(
        f32(L, 3, 2), f32(L, 3, 2), pos_weight=f32(L, 3)),
     ("binary_cross_entropy_with_logits",)),
    ("kl-int", lambda L: _F(L).kl_div(i64(L, 3), i64(L, 3)), ("kl_div", "integral")),
    ("hinge-shape", lambda L: _F(L).hinge_embedding_loss(f32(L, 3), f32(L, 4)),
     ("hinge_embedding_loss",)),
    ("soft-margin-shape", lambda L: _F(L).soft_margin_loss(f32(L, 3), f32(L, 4)),
     ("soft_margin_loss",)),
    ("multilabel-shape", lambda L: _F(L).multilabel_soft_margin_loss(f32(L, 3, 4),
                                                                     f32(L, 3, 5)),
     ("multilabel_soft_margin_loss",)),
    ("poisson-shape", lambda L: _F(L).poisson_nll_loss(f32(L, 3), f32(L, 4)),
     ("poisson_nll_loss",)),
    ("cosine-embedding-2d-target", lambda L: _F(L).cosine_embedding_loss(
        f32(L, 3, 2), f32(L, 3, 2), f32(L, 3, 1)), ("cosine_embedding_loss",)),
    # ------------------------------------------------------------------ conv, pooling
    ("conv1d-channels", lambda L: L.nn.Conv1d(3, 4, 3)(f32(L, 2, 5, 10)),
     ("conv1d", "[2, 5, 10]")),
    ("conv3d-channels", lambda L: L.nn.Conv3d(2, 4, 3)(f32(L, 1, 3, 4, 4, 4)), ("conv3d",)),
    ("conv2d-nhwc", lambda L: L.nn.Conv2d(3, 4, 3)(f32(L, 1, 8, 8, 3)),
     ("conv2d", "[1, 8, 8, 3]")),
    ("conv2d-double-input", lambda L: L.nn.Conv2d(3, 4, 3)(f32(L, 1, 3, 8, 8).double()),
     ("conv2d", "float64")),
    ("F.conv2d-bias-size", lambda L: _F(L).conv2d(f32(L, 1, 3, 8, 8), f32(L, 4, 3, 3, 3),
                                                  f32(L, 3)), ("conv2d", "bias")),
    ("conv2d-dilation-too-big", lambda L: L.nn.Conv2d(3, 4, 3, dilation=4)(f32(L, 1, 3, 8, 8)),
     ("conv2d",)),
    ("conv-neg-channels", lambda L: L.nn.Conv2d(-1, 2, 3), ("conv2d", "-1")),
    ("maxpool2d-kernel-too-big", lambda L: L.nn.MaxPool2d(5)(f32(L, 1, 1, 4, 4)),
     ("max_pool2d",)),
    ("maxpool1d-kernel-too-big", lambda L: L.nn.MaxPool1d(5)(f32(L, 1, 1, 4)), ("max_pool1d",)),
    ("avgpool1d-kernel-too-big", lambda L: L.nn.AvgPool1d(5)(f32(L, 1, 1, 4)), ("avg_pool1d",)),
    ("maxpool2d-dilation-too-big", lambda L: L.nn.MaxPool2d(2, dilation=4)(f32(L, 1, 1, 4, 4)),
     ("max_pool2d",)),
    ("adaptive-avg-tuple-len", lambda L: L.nn.AdaptiveAvgPool2d((2, 2, 2))(f32(L, 1, 1, 4, 4)),
     ("adaptive_avg_pool2d",)),
    # ------------------------------------------------------------------ embedding
    ("embedding-neg-idx", lambda L: L.nn.Embedding(5, 3)(L.tensor([-1])), ("embedding", "-1")),
    ("embedding-max-idx", lambda L: L.nn.Embedding(5, 3)(L.tensor([[0, 5]])),
     ("embedding", "5")),
    ("embedding-bag-oob", lambda L: L.nn.EmbeddingBag(5, 3)(L.tensor([[0, 9]])),
     ("embedding_bag", "9")),
    ("embedding-bag-float", lambda L: L.nn.EmbeddingBag(5, 3)(f32(L, 2, 2)),
     ("embedding_bag", "float32")),
    # ------------------------------------------------------------------ recurrent
    ("lstm-hidden-batch", lambda L: L.nn.LSTM(3, 4)(f32(L, 5, 2, 3),
                                                    (f32(L, 1, 3, 4), f32(L, 1, 2, 4))),
     ("lstm", "[1, 3, 4]")),
    ("lstm-cell-state", lambda L: L.nn.LSTM(3, 4)(f32(L, 5, 2, 3),
                                                  (f32(L, 1, 2, 4), f32(L, 1, 2, 5))),
     ("lstm", "[1, 2, 5]")),
    ("lstm-layers-state", lambda L: L.nn.LSTM(3, 4, num_layers=2)(
        f32(L, 5, 2, 3), (f32(L, 1, 2, 4), f32(L, 1, 2, 4))), ("lstm", "[1, 2, 4]")),
    ("gru-hidden-shape", lambda L: L.nn.GRU(3, 4)(f32(L, 5, 2, 3), f32(L, 2, 2, 4)),
     ("gru", "[2, 2, 4]")),
    ("lstm-double-input", lambda L: L.nn.LSTM(3, 4)(f32(L, 5, 2, 3).double()),
     ("lstm", "float64")),
    ("lstm-batch-first-features", lambda L: L.nn.LSTM(3, 4, batch_first=True)(
        f32(L, 2, 5, 6)), ("lstm", "6")),
    ("lstm-hidden-zero", lambda L: L.nn.LSTM(3, 0), ("hidden_size",)),
    ("lstm-input-float", lambda L: L.nn.LSTM(3.5, 4), ("input_size",)),
    ("lstmcell-hidden", lambda L: L.nn.LSTMCell(3, 4)(f32(L, 2, 3),
                                                      (f32(L, 2, 5), f32(L, 2, 4))),
     ("lstmcell", "5")),
    ("grucell-batch", lambda L: L.nn.GRUCell(3, 4)(f32(L, 2, 3), f32(L, 3, 4)),
     ("grucell", "3")),
    # ------------------------------------------------------------------ attention masks
    ("mha-mask-2d", lambda L: _mha(L, attn_mask=L.ones(2, 2, dtype=L.bool)),
     ("attn_mask", "[2, 2]")),
    ("mha-mask-3d", lambda L: _mha(L, attn_mask=L.ones(5, 3, 3, dtype=L.bool)),
     ("attn_mask", "[5, 3, 3]")),
    ("mha-mask-4d", lambda L: _mha(L, attn_mask=L.ones(1, 2, 3, 3, dtype=L.bool)),
     ("attn_mask",)),
    ("mha-mask-int", lambda L: _mha(L, attn_mask=i64(L, 3, 3)), ("attn_mask", "int64")),
    ("mha-padding-mask", lambda L: _mha(L, key_padding_mask=L.ones(2, 4, dtype=L.bool)),
     ("key_padding_mask", "(2, 4)")),
    ("mha-key-value", lambda L: L.nn.MultiheadAttention(4, 2)(f32(L, 3, 2, 4), f32(L, 3, 3, 4),
                                                              f32(L, 3, 2, 4)), ("key",)),
    # ------------------------------------------------------------------ modules, state dicts
    ("load-state-dict-size-key", lambda L: L.nn.Sequential(L.nn.Linear(2, 3)).load_state_dict(
        {"0.weight": f32(L, 4, 2), "0.bias": f32(L, 3)}),
     ("size mismatch", "0.weight", "[4, 2]", "[3, 2]")),
    ("load-state-dict-unexpected", lambda L: L.nn.Linear(2, 2).load_state_dict(
        {"weight": f32(L, 2, 2), "bias": f32(L, 2), "extra": f32(L, 1)}),
     ("unexpected", "extra")),
    ("load-state-dict-not-dict", lambda L: L.nn.Linear(2, 2).load_state_dict([1, 2]),
     ("dict",)),
    ("sequential-index", lambda L: L.nn.Sequential(L.nn.ReLU())[3], ("3",)),
    ("register-buffer-dot", lambda L: L.nn.Module().register_buffer("a.b", f32(L, 2)),
     ("a.b",)),
    ("register-buffer-not-tensor", lambda L: L.nn.Module().register_buffer("a", 3), ("a",)),
    ("linear-0d-input", lambda L: L.nn.Linear(3, 2)(L.tensor(1.0)), ("linear",)),
    ("interpolate-size-and-scale", lambda L: _F(L).interpolate(f32(L, 1, 1, 4), size=8,
                                                               scale_factor=2),
     ("interpolate",)),
    ("layernorm-weight-dtype", lambda L: _F(L).layer_norm(f32(L, 2, 3).double(), (3,),
                                                          f32(L, 3)),
     ("layer_norm", "float64")),
    ("batchnorm-running-dtype", lambda L: _F(L).batch_norm(f32(L, 2, 3), f32(L, 3).double(),
                                                           f32(L, 3).double()),
     ("batch_norm", "float64")),
    ("pad-sequence-empty", lambda L: L.nn.utils.rnn.pad_sequence([]), ("pad_sequence", "empty")),
    ("pack-padded-len", lambda L: L.nn.utils.rnn.pack_padded_sequence(f32(L, 3, 2, 1), [3]),
     ("lengths",)),
    # ------------------------------------------------------------------ data, optim, schedulers
    ("loader-batch-size-0", lambda L: _loader(L, batch_size=0), ("batch_size", "0")),
    ("loader-batch-size-neg", lambda L: _loader(L, batch_size=-2), ("batch_size", "-2")),
    ("loader-batch-size-float", lambda L: _loader(L, batch_size=2.5), ("batch_size", "2.5")),
    ("adam-neg-lr", lambda L: _opt(L, "Adam", lr=-1e-3), ("learning rate", "-0.001")),
    ("adam-beta2", lambda L: _opt(L, "Adam", betas=(0.9, 1.0)), ("beta", "1.0")),
    ("adamw-weight-decay", lambda L: _opt(L, "AdamW", weight_decay=-0.1), ("weight_decay",)),
    ("rmsprop-momentum", lambda L: _opt(L, "RMSprop", momentum=-0.5), ("momentum",)),
    ("adagrad-neg-lr", lambda L: _opt(L, "Adagrad", lr=-0.1), ("learning rate",)),
    ("steplr-on-module", lambda L: L.optim.lr_scheduler.StepLR(L.nn.Linear(2, 2), 1),
     ("linear", "optimizer")),
    ("explr-on-str", lambda L: L.optim.lr_scheduler.ExponentialLR("sgd", 0.9), ("optimizer",)),
    ("cosine-on-list", lambda L: L.optim.lr_scheduler.CosineAnnealingLR([], 10),
     ("optimizer",)),
    ("plateau-on-none", lambda L: L.optim.lr_scheduler.ReduceLROnPlateau(None),
     ("optimizer",)),
    ("multistep-on-params", lambda L: L.optim.lr_scheduler.MultiStepLR(_params(L), [1]),
     ("optimizer",)),
    ("onecycle-on-module", lambda L: L.optim.lr_scheduler.OneCycleLR(
        L.nn.Linear(2, 2), 0.1, total_steps=10), ("optimizer",)),
]


def _builtin_type(exc: BaseException) -> type:
    for cls in type(exc).__mro__:
        if cls.__module__ == "builtins":
            return cls
    return type(exc)


def _run(lib, fn):
    try:
        fn(lib)
    except Exception as e:  # noqa: BLE001
        return e
    return None


@pytest.mark.parametrize("fn,words", [c[1:] for c in CASES + MORE_CASES],
                         ids=[c[0] for c in CASES + MORE_CASES])
def test_bad_input_fails_like_torch(fn, words):
    expected = _run(torch, fn)
    assert expected is not None, "the case is not an error in torch: fix the case"
    got = _run(ds, fn)
    assert got is not None, f"deepseek silently accepted it; torch raised {expected!r}"
    assert _builtin_type(got) is _builtin_type(expected), (
        f"exception type: deepseek {type(got).__name__}({got}), torch "
        f"{type(expected).__name__}({expected})")
    msg = str(got).lower()
    assert not any(raw in msg for raw in RAW_NUMPY), f"raw error text: {got}"
    missing = [w for w in words if w.lower() not in msg]
    assert not missing, f"message lacks {missing}: {got}"


def test_duplicate_params_warn_like_torch():
    for lib in (torch, ds):
        with pytest.warns(UserWarning, match="duplicate parameters"):
            lib.optim.SGD([_params(lib)[0]] * 2, lr=0.1)


def test_multistep_milestones_must_be_ints():
    # torch accepts a string here and silently never decays; deepseek refuses it
    with pytest.raises(TypeError, match="milestones"):
        _sched(ds, "MultiStepLR", "ab")


def test_save_load_bad_inputs(tmp_path):
    with pytest.raises(TypeError, match="save"):
        ds.save({"f": lambda: 1}, tmp_path / "x.ds")
    with pytest.raises(FileNotFoundError):
        ds.load(tmp_path / "missing.ds")
    (tmp_path / "junk.ds").write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="load"):
        ds.load(tmp_path / "junk.ds")
    with pytest.raises(RuntimeError, match="load"):
        ds.load(io.BytesIO(b""))
