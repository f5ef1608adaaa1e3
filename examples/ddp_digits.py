"""Train the digits CNN data-parallel on several processes: each reads its share of the data
(DistributedSampler), gradients are averaged in backward (DistributedDataParallel), with
--sync-bn BatchNorm statistics span the whole batch (SyncBatchNorm), the whole step is compiled
(ds.jit), and a checkpoint each epoch lets a restarted job resume where it stopped.

    python -m deepseek.distributed.run --nproc-per-node 2 --max-restarts 1 \\
        examples/ddp_digits.py [--epochs 4] [--checkpoints DIR]
"""

import argparse
import os
import tempfile

import deepseek as ds
import deepseek.distributed as dist
import deepseek.distributed.checkpoint as dcp
import deepseek.nn as nn
import deepseek.nn.functional as F
from deepseek.datasets import load_digits
from deepseek.models import DigitsCNN
from deepseek.utils.data import DataLoader, DistributedSampler, TensorDataset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--sync-bn", action="store_true")
    parser.add_argument("--checkpoints", default=os.path.join(tempfile.gettempdir(),
                                                               "ddp_digits"))
    args = parser.parse_args()

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    ds.manual_seed(0)
    train = TensorDataset(*load_digits(train=True))
    sampler = DistributedSampler(train, shuffle=True, seed=0)
    loader = DataLoader(train, batch_size=32, sampler=sampler, drop_last=True)
    net = DigitsCNN()
    if args.sync_bn:
        net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    model = nn.parallel.DistributedDataParallel(net)
    optimizer = ds.optim.SGD(model.parameters(), lr=0.05 * world, momentum=0.9)
    state = {"model": model, "optimizer": optimizer, "epoch": 0}
    last = dcp.latest(args.checkpoints)
    if last is not None:
        dcp.load(state, checkpoint_id=last)
        if rank == 0:
            print(f"resumed from {last}")

    @ds.jit
    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    for epoch in range(state["epoch"], args.epochs):
        model.train()
        sampler.set_epoch(epoch)
        for x, y in loader:
            loss = step(x, y)
        state["epoch"] = epoch + 1
        dcp.save(state, checkpoint_id=os.path.join(args.checkpoints, f"epoch_{epoch + 1:03d}"))
        if rank == 0:
            print(f"epoch {epoch + 1}: loss {loss.item():.4f} on {world} processes")

    if rank == 0:
        x_test, y_test = load_digits(train=False)
        model.eval()
        with ds.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        print(f"test accuracy {accuracy:.3f}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
