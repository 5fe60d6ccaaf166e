"""Data-parallel training with PyTorch's own engine: ``torch.distributed`` + DDP, under torchrun.

    torchrun --nproc-per-node 2 -m rnnkit classify train --train data.ts --out runs/jv

:meth:`rnnkit.training.Trainer.fit` calls what it needs from here by itself, and task
functions call :func:`leave_unless_main` after training, so commands run unchanged.

``torchrun`` starts N copies of the command and sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``. :func:`init_distributed` reads them
and joins the process group: **gloo** on CPU, **NCCL** on CUDA (one GPU per process,
``cuda:LOCAL_RANK``). Without those variables everything here is a no-op and the run is
an ordinary single process.

What data-parallel means here (see docs/distributed.md):

- ``train.batch_size`` is the **global** batch: each of the W ranks loads
  ``batch_size / W`` sequences per step (it must divide), through a
  :class:`~torch.utils.data.DistributedSampler` whose ``set_epoch(epoch)`` is called
  at every epoch start, so shuffling differs per epoch and matches across ranks.
- DDP averages the gradients over ranks, so with per-rank mean losses one step equals
  one single-process step over the global batch: the learning rate needs no scaling.
- Parameters that do not reach the loss (an unused head) would hang DDP's gradient
  reduction; :func:`unused_parameters` finds them with one dry run on the first batch
  and DDP is then built with ``find_unused_parameters=True`` only when needed.
- Only rank 0 writes files (:func:`is_main`); every rank then meets at
  :func:`barrier`, so no rank reads a checkpoint that is still being written.
- The rendezvous defaults to the loopback address 127.0.0.1 (set ``MASTER_ADDR`` for
  several machines); gloo is pinned to the loopback interface in that case too.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Iterable, Optional

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from rnnkit.errors import ConfigError

__all__ = [
    "DistInfo",
    "env_info",
    "launched",
    "init_distributed",
    "is_active",
    "restart_attempt",
    "rank",
    "world_size",
    "is_main",
    "barrier",
    "all_reduce_mean",
    "any_rank",
    "device_for_rank",
    "first_batch",
    "ColumnShard",
    "broadcast_object",
    "distributed_loader",
    "SetEpoch",
    "unused_parameters",
    "LossModule",
    "ddp_loss",
    "cleanup",
    "leave_unless_main",
    "LOOPBACK",
]

LOOPBACK = "127.0.0.1"
_LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    local_rank: int


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer, got {raw!r}") from None


def env_info() -> DistInfo:
    """Rank, world size and local rank from torchrun's variables (0, 1, 0 without them)."""
    return DistInfo(_env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0))


def launched() -> bool:
    """True inside a process started by torchrun (or any launcher that sets RANK/WORLD_SIZE)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_distributed(device: Optional[torch.device | str] = None, timeout_s: float = 600.0) -> DistInfo:
    """Join the process group when launched; returns this process's DistInfo.

    Backend: NCCL when ``device`` is CUDA (and ``torch.cuda.set_device(local_rank)``),
    gloo otherwise. ``MASTER_ADDR`` defaults to 127.0.0.1 and ``MASTER_PORT`` to 29500.
    Idempotent: a second call returns the same info.
    """
    info = env_info()
    if not launched() or dist.is_initialized():
        return info
    os.environ.setdefault("MASTER_ADDR", LOOPBACK)
    os.environ.setdefault("MASTER_PORT", "29500")
    dev = torch.device(device) if device is not None and str(device) != "auto" else None
    use_cuda = dev is not None and dev.type == "cuda"
    if use_cuda:
        torch.cuda.set_device(info.local_rank)
    elif os.environ["MASTER_ADDR"] in _LOOPBACK_NAMES and sys.platform.startswith("linux"):
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # gloo traffic stays on loopback
    timeout = timedelta(seconds=timeout_s)
    dist.init_process_group(
        backend="nccl" if use_cuda else "gloo",
        store=_attempt_store(info, timeout),
        rank=info.rank,
        world_size=info.world_size,
        timeout=timeout,
    )
    return info


def _attempt_store(info: DistInfo, timeout: timedelta) -> Optional[dist.Store]:
    """The rendezvous store, with keys private to this torchrun attempt.

    After ``--max-restarts`` restarts the workers, torchrun's store still holds the
    previous attempt's addresses; without a per-attempt prefix the new ranks try to
    connect to the dead ones (measured: "Connection refused" in gloo's connectFullMesh
    with the static rendezvous hanging outright). None outside torchrun: env:// then.
    """
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT")
    if attempt is None:
        return None
    agent_hosts_store = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
    store = dist.TCPStore(
        os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), info.world_size,
        is_master=info.rank == 0 and not agent_hosts_store, timeout=timeout,
    )
    return dist.PrefixStore(f"rnnkit/attempt_{attempt}/", store)


def device_for_rank(device: torch.device) -> torch.device:
    """``cuda`` becomes ``cuda:LOCAL_RANK`` when launched; anything else is unchanged."""
    if launched() and device.type == "cuda":
        return torch.device("cuda", env_info().local_rank)
    return device


def restart_attempt() -> int:
    """How many times torchrun has restarted this job (``--max-restarts``); 0 otherwise."""
    return _env_int("TORCHELASTIC_RESTART_COUNT", 0)


def is_active() -> bool:
    """True when a process group is up (even with one process)."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_active() else 0


def world_size() -> int:
    return dist.get_world_size() if is_active() else 1


def is_main() -> bool:
    """Rank 0 (or no process group): the only process that writes files.

    Under torchrun this holds before the process group exists too (the launcher's RANK),
    so a task can check and prepare its output folder before training joins the group:
    otherwise every rank would take itself for rank 0 until then.
    """
    if is_active():
        return dist.get_rank() == 0
    if launched():
        return os.environ["RANK"].strip() == "0"
    return True


def barrier() -> None:
    """All ranks wait here (no-op without a process group)."""
    if is_active():
        dist.barrier()


def all_reduce_mean(value: float) -> float:
    """The mean of a float over ranks (itself without a process group)."""
    if not is_active() or world_size() == 1:
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item()) / world_size()


def any_rank(flag: bool) -> bool:
    """True on every rank when ``flag`` is true on any rank (a stop decision all ranks share)."""
    if not is_active() or world_size() == 1:
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0])
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (e.g. an error message or a stop decision)."""
    if not is_active() or world_size() == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def leave_unless_main() -> None:
    """After training, ranks other than 0 exit the process (status 0); rank 0 goes on.

    Task functions call this right after ``Trainer.fit``: evaluation, reports and the
    exported model folder are rank 0's job alone, so no two processes write one file.
    Does nothing outside torchrun.
    """
    if is_active() and not is_main():
        dist.destroy_process_group()
        raise SystemExit(0)


def cleanup() -> None:
    """Leave the process group (call once at the end of a launched run)."""
    if is_active():
        dist.destroy_process_group()


# ----------------------------------------------------------------------------- data


class ColumnShard:
    """This rank's share of B parallel time-major streams: every (T, B) tensor of a batch
    is cut to columns ``[r*B/W, (r+1)*B/W)``. For carried-state text batches
    (:class:`rnnkit.data.text.ContiguousBatches`), where chunk k+1 continues chunk k and
    so cannot be shuffled or dealt out whole; each rank keeps its own streams' state."""

    def __init__(self, batches: Any, rank_: int, world: int) -> None:
        per = batches.batch_size // world
        self.batches, self.lo, self.hi = batches, rank_ * per, (rank_ + 1) * per
        self.batch_size = per

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        for batch in self.batches:
            yield tuple(t[:, self.lo : self.hi] for t in batch)  # (T, B/W) each

    def peek(self) -> tuple:
        """The first batch, without advancing a sub-epoch pass."""
        return tuple(t[:, self.lo : self.hi] for t in self.batches.chunk(0))

    def __getattr__(self, name: str) -> Any:  # chars_per_pass, seq_len, ... of the whole
        return getattr(self.__dict__["batches"], name)


def distributed_loader(loader: Any, seed: int = 0, *, rank_: Optional[int] = None,
                       world: Optional[int] = None) -> Any:
    """The same loader, sharded: each rank gets ``batch_size / W`` of every global batch.

    Keeps the dataset, collate function, workers and drop_last; shuffles (seeded by
    ``seed`` and the epoch, via ``set_epoch``) exactly when the original did. The global
    batch ``loader.batch_size`` must be a multiple of the world size. Carried-state text
    batches (a loader with ``shards_by_stream = True``) are dealt out by stream instead
    (:class:`ColumnShard`). A loader with a ``shard(rank, world)`` method deals out its
    own batches: that method returns this rank's loader (e.g. the forecaster's windows,
    ``rnnkit.tasks.forecast.training.WindowBatches``). ``rank_`` and
    ``world`` override the process group's (for tests and tools).
    """
    w = world if world is not None else world_size()
    r = rank_ if rank_ is not None else rank()
    if callable(getattr(loader, "shard", None)):
        return loader.shard(r, w)
    streams = bool(getattr(loader, "shards_by_stream", False))  # e.g. data.text.ContiguousBatches
    if not streams and (not isinstance(loader, DataLoader) or loader.batch_size is None):
        raise ConfigError(
            f"distributed training needs a torch DataLoader with a batch_size, got {type(loader).__name__}"
        )
    if loader.batch_size % w:
        raise ConfigError(
            f"train.batch_size ({loader.batch_size}) is the global batch and must be a multiple "
            f"of the number of processes ({w})"
        )
    if streams:
        return ColumnShard(loader, r, w)
    shuffle = isinstance(loader.sampler, RandomSampler)
    sampler = DistributedSampler(loader.dataset, num_replicas=w, rank=r, shuffle=shuffle,
                                 seed=seed, drop_last=False)
    return DataLoader(
        loader.dataset,
        batch_size=loader.batch_size // w,
        sampler=sampler,
        collate_fn=loader.collate_fn,
        num_workers=loader.num_workers,
        pin_memory=loader.pin_memory,
        drop_last=loader.drop_last,
        worker_init_fn=loader.worker_init_fn,
        persistent_workers=loader.persistent_workers if loader.num_workers > 0 else False,
    )


class SetEpoch:
    """Trainer callback: ``sampler.set_epoch(epoch)`` at every epoch start (a new shuffle
    per epoch, the same on every rank, the same again after resume)."""

    def __init__(self, loader: DataLoader) -> None:
        self.sampler = getattr(loader, "sampler", None)

    def on_epoch_start(self, trainer: Any, epoch: int) -> None:
        if isinstance(self.sampler, DistributedSampler):
            self.sampler.set_epoch(epoch)


# ---------------------------------------------------------------------------- model


class LossModule(nn.Module):
    """``forward(batch) = model.compute_loss(batch)``: what DDP wraps, so its hooks fire."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> torch.Tensor:
        return self.model.compute_loss(batch)


def unused_parameters(model: nn.Module, batch: Any) -> list[str]:
    """Names of trainable parameters that get no gradient from ``compute_loss(batch)``.

    One dry forward pass; RNG state is restored afterwards and no ``.grad`` is touched.
    A model that carries state between batches should reset it at epoch start (the
    trainer calls ``on_epoch_start`` before the first batch anyway).
    """
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        was_training = model.training
        model.train()
        loss = model.compute_loss(batch)
        grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
        model.train(was_training)
    if hasattr(model, "on_epoch_start"):
        model.on_epoch_start()
    return [n for (n, _), g in zip(named, grads) if g is None]


def ddp_loss(model: nn.Module, device: torch.device, sample_batch: Any = None,
             find_unused: Optional[bool] = None) -> Callable[[Any], torch.Tensor]:
    """A DDP-wrapped ``compute_loss``: call it with a batch, backward the result.

    ``find_unused`` None: decided by :func:`unused_parameters` on ``sample_batch``.
    """
    if find_unused is None:
        find_unused = bool(unused_parameters(model, sample_batch)) if sample_batch is not None else True
    kwargs: dict = {"find_unused_parameters": find_unused}
    if device.type == "cuda":
        kwargs.update(device_ids=[device.index], output_device=device.index)
    return nn.parallel.DistributedDataParallel(LossModule(model), **kwargs)


def first_batch(loader: Iterable) -> Any:
    """The loader's first batch, drawn without disturbing any global RNG."""
    if hasattr(loader, "peek"):
        return loader.peek()
    with torch.random.fork_rng():
        return next(iter(loader))
