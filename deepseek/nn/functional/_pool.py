"""``F.*`` pooling, padding, resampling and pixel-shuffle front doors (defined in
``ops/pool.py``)."""

from ...ops.pool import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d,
                         adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d,
                         avg_pool1d, avg_pool2d, avg_pool3d, channel_shuffle, interpolate,
                         lp_pool1d, lp_pool2d, lp_pool3d, max_pool1d, max_pool2d, max_pool3d, pad,
                         pixel_shuffle, pixel_unshuffle, upsample, upsample_bilinear,
                         upsample_nearest)

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "lp_pool1d", "lp_pool2d", "lp_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "adaptive_max_pool3d", "pad", "interpolate", "upsample", "upsample_nearest",
           "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle"]
