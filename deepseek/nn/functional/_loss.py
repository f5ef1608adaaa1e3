"""Loss functions of ``deepseek.nn.functional`` (defined with their primitive in ops/loss.py;
``ctc_loss`` in ops/ctc.py)."""

from ...ops.ctc import ctc_loss
from ...ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                         cosine_embedding_loss, cross_entropy, gaussian_nll_loss,
                         hinge_embedding_loss, huber_loss, kl_div, l1_loss, margin_ranking_loss,
                         mse_loss, multi_margin_loss, multilabel_margin_loss,
                         multilabel_soft_margin_loss, nll_loss, poisson_nll_loss, smooth_l1_loss,
                         soft_margin_loss, triplet_margin_loss, triplet_margin_with_distance_loss)

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
           "cross_entropy", "ctc_loss", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss",
           "kl_div", "l1_loss", "margin_ranking_loss", "mse_loss", "multi_margin_loss",
           "multilabel_margin_loss", "multilabel_soft_margin_loss", "nll_loss", "poisson_nll_loss",
           "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss",
           "triplet_margin_with_distance_loss"]
