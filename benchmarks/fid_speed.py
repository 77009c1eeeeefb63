"""FID between 10,000 and 10,000 images of 28x28, features included.

No MNIST is bundled, so the images are procedural: `shapes` sprites rendered at 28x28 (10,000
"real" from one split, 10,000 "generated" from the other). The feature network is LeNet-5 trained
on those sprites' shape label (once; cached under GENERATIVA_CACHE, its training is not timed).

The timed part streams the images in batches of 500 through the network into float64 running
means and covariances (`GaussianStats`) and computes FID; no feature matrix is kept at all. Peak
memory is compared between 2,000 and 10,000 images to show it does not grow with the sample count.

    .venv/bin/python benchmarks/fid_speed.py            # add --threads 1 to use one core
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from generativa.data import load_data
from generativa.evaluation.features import feature_network
from generativa.evaluation.fid import GaussianStats, fid_from_stats

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--n", type=int, default=10_000)
args = parser.parse_args()
torch.set_num_threads(args.threads)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kilobytes on Linux


# 1. data and the feature network (not timed)
data = load_data("shapes", size=28, n=args.n, n_test=args.n)
net = feature_network(data, "lenet5")
print(f"feature network: {net.describe()}")
real, fake = data.test, data.train
print(f"images: {len(real)} real, {len(fake)} generated, {tuple(real.shape)}; torch threads {args.threads}")


# 2. the timed part: images -> features -> streaming statistics -> FID
@torch.no_grad()
def stream_stats(split, n: int, batch_size: int = 500) -> GaussianStats:
    stats = GaussianStats()
    for i in range(0, n, batch_size):
        stats.update(net.features(split.images(slice(i, min(i + batch_size, n)))))
    return stats


for n in (2_000, args.n):
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    value = fid_from_stats(stream_stats(real, n), stream_stats(fake, n))
    seconds = time.perf_counter() - start
    print(f"FID {n:>6} vs {n:>6}: {value:8.4f}  in {seconds:6.2f} s  "
          f"(peak RSS {peak_rss_mb():.0f} MB, +{peak_rss_mb() - rss_before:.0f} MB during this step)")
