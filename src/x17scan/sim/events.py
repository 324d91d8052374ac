"""Truth-level events: the schema shared by the generators and the detector response.

Units: MeV, mm, ns. Coordinates: z along the beam, z = 0 at the target front face, x horizontal,
y vertical (docs: notes/sim_interface.md). One :class:`TruthEvents` holds a chunk of ``n``
events as a struct of arrays. Particle slot 0 is the e- (or the first photon), slot 1 the e+
(or the second photon); ``pdg == 0`` marks an empty slot (a halo event with one particle).

``cos_theta_star`` is the cosine of the CM polar angle of particle 0 measured from the
direction of the incoming positron in the CM frame (for Bhabha the e-: it is minus the angle
that :func:`x17scan.physics.xsec.dsigma_bhabha` takes, which is the positron's).

``primary`` is False for pile-up interactions added to the bunch of a primary event: they make
hits but are not counted as generated or selected events of their process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

PROCESS_CODES: dict[str, int] = {"bhabha": 0, "gg": 1, "signal": 2, "halo": 3}
"""Integer codes of the generated processes."""

PROCESS_NAMES: dict[int, str] = {v: k for k, v in PROCESS_CODES.items()}

_SHAPES = {"process": ((), np.int8), "vertex": ((3,), np.float64), "t0": ((), np.float64),
           "bunch": ((), np.int64), "pdg": ((2,), np.int32), "p": ((2, 3), np.float64),
           "e": ((2,), np.float64), "e_beam": ((), np.float64), "sqrt_s": ((), np.float64),
           "cos_theta_star": ((), np.float64), "primary": ((), np.bool_)}


def empty_columns(n: int) -> dict[str, np.ndarray]:
    """Uninitialised columns of a chunk of ``n`` events: the fields of :class:`TruthEvents`
    with their shapes and dtypes (generators write into row ranges of them)."""
    return {name: np.empty((n, *shape), dtype) for name, (shape, dtype) in _SHAPES.items()}


@dataclass(frozen=True)
class TruthEvents:
    """One chunk of ``n`` generated events (struct of arrays; see the module docstring).

    process (n,) int8 :data:`PROCESS_CODES`; vertex (n, 3) mm; t0 (n,) ns; bunch (n,) int64;
    pdg (n, 2) int32; p (n, 2, 3) MeV lab momenta after the target; e (n, 2) MeV lab energies;
    e_beam (n,) MeV positron energy at the interaction; sqrt_s (n,) MeV true CM energy;
    cos_theta_star (n,); primary (n,) bool."""

    process: np.ndarray
    vertex: np.ndarray
    t0: np.ndarray
    bunch: np.ndarray
    pdg: np.ndarray
    p: np.ndarray
    e: np.ndarray
    e_beam: np.ndarray
    sqrt_s: np.ndarray
    cos_theta_star: np.ndarray
    primary: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(np.asarray(self.process))
        if self.primary is None:
            object.__setattr__(self, "primary", np.ones(n, dtype=bool))
        for f in fields(self):
            shape, dtype = _SHAPES[f.name]
            a = np.ascontiguousarray(getattr(self, f.name), dtype=dtype)
            if a.shape != (n, *shape):
                raise ValueError(f"TruthEvents.{f.name} has shape {a.shape}, expected "
                                 f"{(n, *shape)}")
            object.__setattr__(self, f.name, a)

    def __len__(self) -> int:
        return int(self.process.shape[0])

    @classmethod
    def empty(cls) -> TruthEvents:
        """A chunk with no events."""
        return cls(**{name: np.zeros((0, *shape), dtype) for name, (shape, dtype)
                      in _SHAPES.items()})

    @classmethod
    def concatenate(cls, parts: Sequence[TruthEvents]) -> TruthEvents:
        """One chunk made of ``parts`` in order."""
        parts = [p for p in parts if p is not None]
        if not parts:
            return cls.empty()
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts])
                      for name in _SHAPES})

    def take(self, index: np.ndarray) -> TruthEvents:
        """The events at ``index`` (integer indices or a boolean mask)."""
        return TruthEvents(**{name: getattr(self, name)[index] for name in _SHAPES})

    @property
    def n_particles(self) -> np.ndarray:
        """Particles per event (1 or 2)."""
        return (self.pdg != 0).sum(axis=1)

    # -- columnar I/O ---------------------------------------------------------------------------
    def to_columns(self) -> dict[str, np.ndarray]:
        """Flat 1-D columns (``vertex_x``, ``p0_x``, ``e1``, ...), for Parquet and ROOT."""
        out: dict[str, np.ndarray] = {"process": self.process, "bunch": self.bunch,
                                      "t0": self.t0, "primary": self.primary}
        for k, ax in enumerate("xyz"):
            out[f"vertex_{ax}"] = self.vertex[:, k]
        for i in range(2):
            out[f"pdg{i}"] = self.pdg[:, i]
            out[f"e{i}"] = self.e[:, i]
            for k, ax in enumerate("xyz"):
                out[f"p{i}_{ax}"] = self.p[:, i, k]
        out["e_beam"] = self.e_beam
        out["sqrt_s"] = self.sqrt_s
        out["cos_theta_star"] = self.cos_theta_star
        return {k: np.ascontiguousarray(v) for k, v in out.items()}

    @classmethod
    def from_columns(cls, cols) -> TruthEvents:
        """Inverse of :meth:`to_columns` (any mapping of column -> array)."""
        c = {k: np.asarray(cols[k]) for k in cols}
        return cls(
            process=c["process"], bunch=c["bunch"], t0=c["t0"], primary=c["primary"],
            vertex=np.stack([c["vertex_x"], c["vertex_y"], c["vertex_z"]], axis=1),
            pdg=np.stack([c["pdg0"], c["pdg1"]], axis=1),
            e=np.stack([c["e0"], c["e1"]], axis=1),
            p=np.stack([np.stack([c[f"p{i}_{a}"] for a in "xyz"], axis=1) for i in range(2)],
                       axis=1),
            e_beam=c["e_beam"], sqrt_s=c["sqrt_s"], cos_theta_star=c["cos_theta_star"])

    def to_arrow(self):
        """A ``pyarrow.Table`` with the flat columns of :meth:`to_columns`."""
        import pyarrow as pa

        return pa.table(self.to_columns())

    @classmethod
    def from_arrow(cls, table) -> TruthEvents:
        """Inverse of :meth:`to_arrow`."""
        return cls.from_columns({name: table.column(name).to_numpy()
                                 for name in table.column_names})
