"""Expected-limit band from background-only pseudo-experiments (method doc §8, ``rL.C``).

Per band mass, the pseudo-experiments' limits fill a 200-bin histogram between the global
minimum (> 0) and maximum (< 1) of all limits of all masses; the quantiles at 2.275 %,
15.87 %, 50 %, 84.13 %, 97.725 % come from ``TH1::GetQuantiles`` (reimplemented here with
ROOT's binning rules: bins are [low, high), x >= xmax and NaN go to the overflow bin, which
the quantiles ignore - so the largest limit of all is never counted). ``quantiles="exact"``
uses numpy's linear sample quantiles of the finite limits instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

# rL.C: qqq = 1 - 0.5 (1 + erf(2/sqrt 2)), ... (same floating-point expressions)
BAND_PROBS: tuple[float, ...] = (
    1.0 - 0.5 * (1.0 + math.erf(2.0 / math.sqrt(2.0))),
    1.0 - 0.5 * (1.0 + math.erf(1.0 / math.sqrt(2.0))),
    0.5,
    0.5 * (1.0 + math.erf(1.0 / math.sqrt(2.0))),
    0.5 * (1.0 + math.erf(2.0 / math.sqrt(2.0))),
)
BAND_KEYS: tuple[str, ...] = ("minus2", "minus1", "median", "plus1", "plus2")


@dataclass
class Histo1D:
    """A fixed-bin histogram with ROOT's layout: ``counts[0]`` underflow, ``[1..n]`` bins,
    ``[n+1]`` overflow."""

    xmin: float
    xmax: float
    nbins: int
    counts: F64
    entries: int

    @classmethod
    def fill(cls, values: F64, nbins: int, xmin: float, xmax: float) -> Histo1D:
        v = np.asarray(values, dtype=np.float64)
        counts = np.zeros(nbins + 2)
        with np.errstate(invalid="ignore"):
            under = v < xmin
            over = ~(v < xmax)                 # NaN lands here too (TAxis::FindBin)
            inside = ~under & ~over
        b = 1 + (nbins * (v[inside] - xmin) / (xmax - xmin)).astype(np.int64)
        b = np.minimum(b, nbins)
        np.add.at(counts, b, 1.0)
        counts[0] = under.sum()
        counts[nbins + 1] = over.sum()
        return cls(xmin=float(xmin), xmax=float(xmax), nbins=nbins, counts=counts,
                   entries=int(v.size))

    @property
    def width(self) -> float:
        return (self.xmax - self.xmin) / self.nbins

    def low_edge(self, ibin: int) -> float:
        return self.xmin + (ibin - 1) * self.width

    def integral(self, b1: int, b2: int) -> float:
        """TH1::Integral(b1, b2) with its clamping rules (b1 < 0 -> 0; b2 out -> overflow)."""
        n = self.nbins
        if b1 < 0:
            b1 = 0
        if b2 > n + 1 or b2 < b1:
            b2 = n + 1
        return float(self.counts[b1:b2 + 1].sum())

    def quantiles(self, probs: tuple[float, ...] | F64) -> F64:
        """``TH1::GetQuantiles`` (ROOT 6.30+): in-range bins only, linear inside a bin."""
        n = self.nbins
        cum = np.concatenate([[0.0], np.cumsum(self.counts[1:n + 1])])
        total = cum[-1]
        out = np.full(len(probs), np.nan)
        if total <= 0:
            return out
        integ = cum / total
        for i, pr in enumerate(probs):
            # TMath::BinarySearch(nbins, fIntegral, p): largest index in [0, n-1] with <= p
            ibin = int(np.searchsorted(integ[:n], pr, side="right")) - 1
            if integ[ibin] == pr:
                if pr == 0.0:
                    while ibin + 1 <= n and integ[ibin + 1] == 0.0:
                        ibin += 1
                    out[i] = self.low_edge(ibin + 1)          # GetBinUpEdge(ibin)
                elif pr == 1.0:
                    out[i] = self.low_edge(ibin + 1)
                else:
                    width = 0.0
                    for j in range(ibin + 1, n + 1):
                        if pr == integ[j]:
                            width += self.width
                        else:
                            break
                    out[i] = (self.low_edge(ibin) + 0.5 * self.width if width == 0
                              else self.low_edge(ibin + 1) + width / 2.0)
            else:
                x = self.low_edge(ibin + 1)
                dint = integ[ibin + 1] - integ[ibin]
                if dint > 0:
                    x += self.width * (pr - integ[ibin]) / dint
                out[i] = x
        return out


@dataclass
class Band:
    """Expected band per band mass, plus the histograms it came from."""

    mass: F64
    quantiles: dict[str, F64]
    histograms: list[Histo1D]
    xmin: float
    xmax: float
    n_pseudo: int
    n_missing: F64          # pseudo-experiments without a limit at each mass

    def as_dict(self) -> dict[str, F64]:
        return {"mass_MeV": self.mass, **self.quantiles}


def expected_band(mass: F64, limits: F64, nbins: int = 200, mode: str = "root") -> Band:
    """Band from ``limits`` (n_pseudo, n_mass) (NaN = no limit for that pseudo-experiment)."""
    lim = np.asarray(limits, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        pos = lim[(lim > 0)]
        lt1 = lim[(lim < 1)]
    if pos.size == 0 or lt1.size == 0:
        raise ValueError("no finite pseudo-experiment limit: cannot build a band")
    xmin, xmax = float(pos.min()), float(lt1.max())
    hists = [Histo1D.fill(lim[:, k], nbins, xmin, xmax) for k in range(lim.shape[1])]
    q = np.full((lim.shape[1], len(BAND_PROBS)), np.nan)
    for k in range(lim.shape[1]):
        if mode == "root":
            q[k] = hists[k].quantiles(BAND_PROBS)
        else:
            col = lim[:, k][np.isfinite(lim[:, k])]
            if col.size:
                q[k] = np.quantile(col, BAND_PROBS)
    quant = {key: q[:, i] for i, key in enumerate(BAND_KEYS)}
    return Band(mass=np.asarray(mass, dtype=np.float64), quantiles=quant, histograms=hists,
                xmin=xmin, xmax=xmax, n_pseudo=lim.shape[0],
                n_missing=(~np.isfinite(lim)).sum(0).astype(np.float64))
