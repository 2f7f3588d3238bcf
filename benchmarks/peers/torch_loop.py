"""Reference loop 2: the plain PyTorch DCGAN loop (pytorch/examples style).

The same networks as `zoo_configs/dcgan_fashion_mnist.yaml` written as
`torch.nn.Sequential` modules in PyTorch's native NCHW layout (padding 1 with
kernel 4 and stride 2 gives Keras' "same" output sizes). Each step, as in the
pytorch/examples DCGAN: the discriminator's loss on the real batch and on a
detached generated batch, backward, step; then the generator's loss through
the updated discriminator on the same generated batch, backward, step. Two
Adam optimizers, `BCEWithLogitsLoss`; data from a `DataLoader` over the
Fashion-MNIST tensor (shuffle, drop_last).

Run by `benchmarks/train_step.py`; prints one JSON line.
"""
import os
import sys
import time

sys.path.insert(0, os.getcwd())

import torch  # noqa: E402
from torch import nn  # noqa: E402

from benchmarks import _timing  # noqa: E402
from ganzoo.data import load_arrays  # noqa: E402


def networks(latent_dim=100):
    """The DCGAN generator and discriminator of dcgan_fashion_mnist (base_filters 32)."""
    generator = nn.Sequential(
        nn.Linear(latent_dim, 7 * 7 * 128, bias=False), nn.BatchNorm1d(7 * 7 * 128), nn.ReLU(),
        nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 1, 3, 1, 1), nn.Tanh(),
    )
    discriminator = nn.Sequential(
        nn.Conv2d(1, 32, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 1),
    )
    return generator, discriminator


def main():
    args = _timing.parse_args()
    batch, latent_dim = args["batch"], 100
    images, _ = load_arrays("fashion_mnist", "train")
    tensor = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(tensor), batch_size=batch, shuffle=True, drop_last=True)

    torch.manual_seed(0)
    generator, discriminator = networks(latent_dim)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    criterion = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    stamps = []
    total = args["warmup"] + args["windows"] * args["window"]
    while len(stamps) < total:
        for (real,) in loader:
            discriminator.zero_grad()
            d_real = criterion(discriminator(real), ones)
            fake = generator(torch.randn(batch, latent_dim))
            d_fake = criterion(discriminator(fake.detach()), zeros)
            (d_real + d_fake).backward()
            d_optimizer.step()

            generator.zero_grad()
            g_loss = criterion(discriminator(fake), ones)
            g_loss.backward()
            g_optimizer.step()
            stamps.append(time.perf_counter())
            if len(stamps) == total:
                break
    _timing.report("PyTorch loop", stamps, warmup=args["warmup"], window=args["window"],
                   backend="torch", threads=torch.get_num_threads())


if __name__ == "__main__":
    main()
