"""One executor interface for every embarrassingly parallel stage.

Toys, pseudo-experiments, grid points and simulation chunks are cut into *tasks* whose number
depends on the problem, never on the number of workers. Each task carries its own
``numpy.random.SeedSequence`` spawned from the job's root seed (:func:`task_seeds`), so the
results are bit-identical whether the tasks run in-process, on local processes
(``--workers N``) or on a Dask cluster (``--scheduler tcp://HOST:PORT``).

:func:`run_tasks` adds a rich progress bar and checkpointing: each finished task is written
atomically to a checkpoint folder; a re-run of the same job skips the finished tasks, so an
interrupted campaign resumes without losing work and ends with the same result.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from x17scan import atomic
from x17scan.errors import InputError

T = TypeVar("T")
R = TypeVar("R")

SeedLike = int | np.random.SeedSequence | None


def root_seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """The job's root ``SeedSequence`` (``None`` draws fresh OS entropy; record ``.entropy``)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is not None and (not isinstance(seed, int | np.integer) or seed < 0):
        raise InputError(f"seed must be a non-negative integer, got {seed!r}", field="--seed",
                         fix="pass e.g. --seed 12345")
    return np.random.SeedSequence(seed)


def task_seeds(seed: SeedLike, n_tasks: int) -> list[np.random.SeedSequence]:
    """Spawn one independent ``SeedSequence`` per task from the job's root seed.

    Task ``i`` always gets the same stream for the same ``seed``, independent of executor.
    """
    return root_seed_sequence(seed).spawn(n_tasks)


def chunk_sizes(total: int, chunk: int) -> list[int]:
    """Split ``total`` items into chunks of at most ``chunk`` (the last one may be smaller)."""
    if total < 0 or chunk <= 0:
        raise ValueError("total must be >= 0 and chunk > 0")
    full, rest = divmod(total, chunk)
    return [chunk] * full + ([rest] if rest else [])


class Executor(ABC):
    """Runs ``fn(task)`` for each task; yields ``(index, result)`` pairs as they finish."""

    workers: int = 1

    @abstractmethod
    def imap_unordered(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
        """Yield ``(i, fn(tasks[i]))`` in completion order."""

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> list[R]:
        """Results of ``fn`` over ``tasks``, in task order."""
        out: list[Any] = [None] * len(tasks)
        for i, r in self.imap_unordered(fn, tasks):
            out[i] = r
        return out

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers (no-op for the serial executor)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        """Short description for logs and ``result.json``."""
        return type(self).__name__


class SerialExecutor(Executor):
    """Runs every task in the calling process."""

    def imap_unordered(self, fn, tasks):
        for i, t in enumerate(tasks):
            yield i, fn(t)

    def describe(self) -> str:
        return "serial"


class ProcessExecutor(Executor):
    """Runs tasks on ``workers`` local processes (``concurrent.futures``)."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise InputError(f"need at least one worker, got {workers}", field="--workers",
                             fix="pass --workers 1 or more")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        return self._pool

    def imap_unordered(self, fn, tasks):
        pool = self._get_pool()
        # bounded submission keeps memory flat for campaigns with many tasks
        pending: dict[Any, int] = {}
        it = iter(enumerate(tasks))
        limit = 4 * self.workers
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < limit:
                try:
                    i, t = next(it)
                except StopIteration:
                    exhausted = True
                    break
                pending[pool.submit(fn, t)] = i
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                yield i, fut.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def describe(self) -> str:
        return f"processes:{self.workers}"


class DaskExecutor(Executor):
    """Runs tasks on an existing dask.distributed cluster (or a given ``Client``)."""

    def __init__(self, scheduler: str | Any) -> None:
        from distributed import Client

        if isinstance(scheduler, Client):
            self._client, self._own = scheduler, False
            self.address = scheduler.scheduler.address
        else:
            try:
                self._client = Client(scheduler, timeout="10s")
            except (OSError, ValueError, TypeError) as err:  # unreachable, or not an address
                raise InputError(f"cannot reach Dask scheduler {scheduler!r} ({err})",
                                 field="--scheduler",
                                 fix="start one with `dask scheduler` or check the address",
                                 ) from err
            self._own = True
            self.address = str(scheduler)
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))

    def imap_unordered(self, fn, tasks):
        from distributed import as_completed

        futures = self._client.map(fn, list(tasks), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            yield index[fut.key], fut.result()
            fut.release()

    def close(self) -> None:
        if self._own:
            self._client.close()

    def describe(self) -> str:
        return f"dask:{self.address}"


def check_scheduler_address(address: str) -> str:
    """Check the form of a Dask scheduler address (``tcp://HOST:PORT`` or ``HOST:PORT``)
    without connecting; raises InputError."""
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        proto, loc = parse_address(str(address))
        if proto in ("tcp", "tls", "ws", "wss", "ucx"):
            parse_host_port(loc)
    except (ValueError, TypeError) as err:
        raise InputError(f"cannot read Dask scheduler address {address!r} ({err})",
                         field="--scheduler", fix="give tcp://HOST:PORT, e.g. "
                         "tcp://127.0.0.1:8786") from None
    return str(address)


def make_executor(workers: int = 1, scheduler: str | None = None) -> Executor:
    """Executor for the CLI options ``--workers`` and ``--scheduler``."""
    if scheduler:
        return DaskExecutor(scheduler)
    if workers is None or workers == 1:
        return SerialExecutor()
    return ProcessExecutor(workers)


def job_fingerprint(config: Any) -> str:
    """Stable hash of a job's configuration (JSON-serialisable), used to match checkpoints."""
    blob = json.dumps(config, sort_keys=True, default=repr).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class Checkpoint:
    """A folder holding one pickle per finished task of one job.

    The folder records the job fingerprint; re-using it for a different job is refused (or
    wiped with ``fresh=True``). Writes are atomic, so a SIGKILL never leaves a corrupt task.
    """

    def __init__(self, folder: str | os.PathLike[str], fingerprint: str, fresh: bool = False):
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        if fresh and self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = self.folder / "job.json"
        if meta.exists():
            stored = json.loads(meta.read_text()).get("fingerprint")
            if stored != fingerprint:
                raise InputError(
                    f"checkpoint folder {self.folder} belongs to a different job",
                    field="checkpoint",
                    fix="re-run with --fresh to discard it, or use another --out")
        else:
            atomic.write_text(meta, json.dumps({"fingerprint": fingerprint}))

    def _file(self, i: int) -> Path:
        return self.folder / f"task-{i:06d}.pkl"

    def done(self) -> dict[int, Any]:
        """Results of the tasks already finished, by task index."""
        out = {}
        for f in sorted(self.folder.glob("task-*.pkl")):
            with open(f, "rb") as fh:
                out[int(f.stem.split("-")[1])] = pickle.load(fh)
        return out

    def save(self, i: int, result: Any) -> None:
        atomic.write_bytes(self._file(i), pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def run_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    *,
    executor: Executor | None = None,
    checkpoint: Checkpoint | None = None,
    desc: str | None = None,
    progress: bool = True,
) -> list[R]:
    """Run ``fn`` over ``tasks`` with an executor, a progress bar and optional checkpointing.

    ``fn`` must be a module-level function (picklable) and every source of randomness must come
    from the task itself (see :func:`task_seeds`). Returns the results in task order.
    """
    executor = executor or SerialExecutor()
    results: dict[int, Any] = checkpoint.done() if checkpoint else {}
    todo = [i for i in range(len(tasks)) if i not in results]

    bar_ctx = None
    if progress and desc and len(tasks) > 1:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        bar_ctx = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), TimeRemainingColumn(), transient=True)
    if bar_ctx is None:
        for j, r in executor.imap_unordered(fn, [tasks[i] for i in todo]):
            results[todo[j]] = r
            if checkpoint:
                checkpoint.save(todo[j], r)
    else:
        with bar_ctx as bar:
            tid = bar.add_task(desc, total=len(tasks), completed=len(tasks) - len(todo))
            for j, r in executor.imap_unordered(fn, [tasks[i] for i in todo]):
                results[todo[j]] = r
                if checkpoint:
                    checkpoint.save(todo[j], r)
                bar.advance(tid)
    return [results[i] for i in range(len(tasks))]
