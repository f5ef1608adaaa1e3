"""``deepseek.distributions``: probability distributions, transforms and KL divergences
(``torch.distributions``), composed from ds ops so that densities and reparameterized samples
differentiate with respect to the parameters."""

from . import constraints, transforms  # noqa: F401
from ._exp_family import ExponentialFamily
from .constraint_registry import biject_to, transform_to
from .continuous import (Cauchy, Exponential, GeneralizedPareto, Gumbel, Laplace, Normal,
                         Uniform, VonMises)
from .counts import Multinomial, NegativeBinomial
from .discrete import (Bernoulli, Binomial, Categorical, Geometric, OneHotCategorical,
                       OneHotCategoricalStraightThrough, Poisson)
from .distribution import Distribution
from .gamma import Beta, Chi2, Dirichlet, FisherSnedecor, Gamma, StudentT
from .independent import Independent
from .kl import kl_divergence, register_kl
from .matrix import LKJCholesky, Wishart
from .mixture import MixtureSameFamily
from .multivariate_normal import LowRankMultivariateNormal, MultivariateNormal
from .relaxed import (ContinuousBernoulli, ExpRelaxedCategorical, LogitRelaxedBernoulli,
                      RelaxedBernoulli, RelaxedOneHotCategorical)
from .transformed_distribution import (HalfCauchy, HalfNormal, InverseGamma, Kumaraswamy,
                                       LogisticNormal, LogNormal, Pareto,
                                       TransformedDistribution, Weibull)
from .transforms import (AbsTransform, AffineTransform, CatTransform, ComposeTransform,
                         CorrCholeskyTransform, CumulativeDistributionTransform, ExpTransform,
                         IndependentTransform, LowerCholeskyTransform,
                         PositiveDefiniteTransform, PowerTransform, ReshapeTransform,
                         SigmoidTransform, SoftmaxTransform, SoftplusTransform, StackTransform,
                         StickBreakingTransform, TanhTransform, Transform, identity_transform)
from . import utils  # noqa: F401
from .._modules import namespace as _namespace

# torch keeps most distributions in a module each (torch.distributions.normal); ours are grouped
for _module, _names in {
        "bernoulli": "Bernoulli", "beta": "Beta", "binomial": "Binomial",
        "categorical": "Categorical", "cauchy": "Cauchy", "chi2": "Chi2",
        "continuous_bernoulli": "ContinuousBernoulli", "dirichlet": "Dirichlet",
        "exp_family": "ExponentialFamily", "exponential": "Exponential",
        "fishersnedecor": "FisherSnedecor",
        "generalized_pareto": "GeneralizedPareto", "geometric": "Geometric", "gumbel": "Gumbel",
        "half_cauchy": "HalfCauchy", "half_normal": "HalfNormal", "inverse_gamma": "InverseGamma",
        "kumaraswamy": "Kumaraswamy", "laplace": "Laplace", "lkj_cholesky": "LKJCholesky",
        "log_normal": "LogNormal", "logistic_normal": "LogisticNormal",
        "lowrank_multivariate_normal": "LowRankMultivariateNormal",
        "mixture_same_family": "MixtureSameFamily", "multinomial": "Multinomial",
        "negative_binomial": "NegativeBinomial", "normal": "Normal",
        "one_hot_categorical": "OneHotCategorical OneHotCategoricalStraightThrough",
        "pareto": "Pareto", "poisson": "Poisson",
        "relaxed_bernoulli": "LogitRelaxedBernoulli RelaxedBernoulli",
        "relaxed_categorical": "ExpRelaxedCategorical RelaxedOneHotCategorical",
        "studentT": "StudentT", "uniform": "Uniform", "von_mises": "VonMises",
        "weibull": "Weibull", "wishart": "Wishart"}.items():
    _namespace(f"{__name__}.{_module}", **{n: globals()[n] for n in _names.split()})
del _module, _names

__all__ = ["AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "CatTransform",
           "Categorical", "Cauchy", "Chi2", "ComposeTransform", "ContinuousBernoulli",
           "CorrCholeskyTransform", "CumulativeDistributionTransform", "Dirichlet",
           "Distribution", "ExpRelaxedCategorical", "ExpTransform", "Exponential",
           "ExponentialFamily",
           "FisherSnedecor", "Gamma", "GeneralizedPareto", "Geometric", "Gumbel", "HalfCauchy",
           "HalfNormal", "Independent", "IndependentTransform", "InverseGamma", "Kumaraswamy",
           "LKJCholesky", "Laplace", "LogNormal", "LogisticNormal", "LogitRelaxedBernoulli",
           "LowRankMultivariateNormal", "LowerCholeskyTransform", "MixtureSameFamily",
           "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal",
           "OneHotCategorical", "OneHotCategoricalStraightThrough", "Pareto", "Poisson",
           "PositiveDefiniteTransform", "PowerTransform", "RelaxedBernoulli",
           "RelaxedOneHotCategorical", "ReshapeTransform", "SigmoidTransform",
           "SoftmaxTransform", "SoftplusTransform", "StackTransform", "StickBreakingTransform",
           "StudentT", "TanhTransform", "Transform", "TransformedDistribution", "Uniform",
           "VonMises", "Weibull", "Wishart", "biject_to", "constraints", "identity_transform",
           "kl_divergence", "register_kl", "transform_to", "transforms", "utils"]
