"""Numba kernels of the scan likelihood: the hot loop of every toy campaign.

One Newton step of :class:`~x17scan.stats.likelihood.ScanModel` per data set, with the
per-point nuisance blocks eliminated on the fly (Schur complement), so nothing of size
(B, n, G, L) is ever materialised. The algebra is the one of ``ScanModel.data_terms`` (the numpy
reference, tested against these kernels) plus the Gaussian constraints of ``fit._newton_step``.
Single-threaded on purpose: parallelism comes from the executor, and results must not depend on
thread scheduling.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _chol_solve(a, rhs, out):
    """Solve a x = rhs for a small SPD matrix (in place on a copy); False if not PD."""
    g = a.shape[0]
    lo = np.zeros((g, g))
    for j in range(g):
        s = a[j, j]
        for k in range(j):
            s -= lo[j, k] * lo[j, k]
        if not s > 1e-14:
            return False
        lo[j, j] = math.sqrt(s)
        for i in range(j + 1, g):
            t = a[i, j]
            for k in range(j):
                t -= lo[i, k] * lo[j, k]
            lo[i, j] = t / lo[j, j]
    y = np.zeros(g)
    for i in range(g):
        t = rhs[i]
        for k in range(i):
            t -= lo[i, k] * y[k]
        y[i] = t / lo[i, i]
    for i in range(g - 1, -1, -1):
        t = y[i]
        for k in range(i + 1, g):
            t -= lo[k, i] * out[k]
        out[i] = t / lo[i, i]
    return True


@njit(cache=True)
def _step_one(bi, exact, glob, loc, n, aux_g, aux_l, midx, fixed, x, b, sig, tau, s0, a, c,
              r_norm, has_norm, prec, sg_out, sl_out, scratch):
    G = glob.shape[1]
    npt = n.shape[1]
    L = loc.shape[2]
    ns = a.shape[1]
    m = midx[bi]
    mu = glob[bi, 0]
    k0 = glob[bi, 1]
    k1 = glob[bi, 2]
    nn = has_norm
    th_a = glob[bi, 3] if nn else 0.0
    nf = 1.0 + r_norm * th_a if nn else 1.0
    schur, rg, jac, jl, ds, tj, hgl, mm, wl, gl_all, sc, dgs = scratch
    schur[:] = 0.0
    rg[:] = 0.0
    for i in range(npt):
        xi = x[i]
        kk = k0 + k1 * xi
        pp = 1.0 + sig[i] * loc[bi, i, 0]
        ee = 1.0 + tau[i] * loc[bi, i, 1] if L == 2 else 1.0
        tt = s0[m, i]
        for j in range(ns):
            th = glob[bi, 3 + nn + j]
            tt += a[m, j, i] * th + c[m, j, i] * th * th
            tj[j] = a[m, j, i] + 2.0 * c[m, j, i] * th
        ss = nf * tt
        es = ee * ss
        qq = b[i] + mu * es
        lam = kk * pp * qq
        ni = n[bi, i]
        fp = 1.0 - ni / lam
        fpp = ni / (lam * lam) if exact else 1.0 / lam
        # dS/dtheta
        if nn:
            ds[3] = r_norm * tt
        for j in range(ns):
            ds[3 + nn + j] = nf * tj[j]
        pe = pp * ee
        jac[0] = kk * pe * ss
        jac[1] = pp * qq
        jac[2] = xi * pp * qq
        for g in range(3, G):
            jac[g] = kk * pe * mu * ds[g]
        jl[0] = kk * sig[i] * qq
        if L == 2:
            jl[1] = kk * pp * mu * tau[i] * ss
        for g in range(G):
            rg[g] += fp * jac[g]
            for h in range(g, G):
                schur[g, h] += fpp * jac[g] * jac[h]
            for q in range(L):
                hgl[g, q] = fpp * jac[g] * jl[q]
        h00 = fpp * jl[0] * jl[0] + 1.0
        h01 = 0.0
        h11 = 1.0
        if L == 2:
            h01 = fpp * jl[0] * jl[1]
            h11 = fpp * jl[1] * jl[1] + 1.0
        if exact:
            w = fp
            schur[0, 1] += w * pe * ss
            schur[0, 2] += w * xi * pe * ss
            for g in range(3, G):
                schur[0, g] += w * kk * pe * ds[g]
                schur[1, g] += w * pe * mu * ds[g]
                schur[2, g] += w * xi * pe * mu * ds[g]
            if nn:
                for j in range(ns):
                    schur[3, 4 + j] += w * kk * pe * mu * r_norm * tj[j]
            for j in range(ns):
                g = 3 + nn + j
                schur[g, g] += w * kk * pe * mu * 2.0 * nf * c[m, j, i]
            hgl[0, 0] += w * kk * sig[i] * es
            hgl[1, 0] += w * sig[i] * qq
            hgl[2, 0] += w * xi * sig[i] * qq
            for g in range(3, G):
                hgl[g, 0] += w * kk * sig[i] * mu * ee * ds[g]
            if L == 2:
                hgl[0, 1] += w * kk * pp * tau[i] * ss
                hgl[1, 1] += w * pp * mu * tau[i] * ss
                hgl[2, 1] += w * xi * pp * mu * tau[i] * ss
                for g in range(3, G):
                    hgl[g, 1] += w * kk * pp * mu * tau[i] * ds[g]
                h01 += w * kk * sig[i] * mu * tau[i] * ss
        # local gradient and inverse of the local block
        gl0 = fp * jl[0] + (loc[bi, i, 0] - aux_l[bi, i, 0])
        gl_all[i, 0] = gl0
        if L == 2:
            gl1 = fp * jl[1] + (loc[bi, i, 1] - aux_l[bi, i, 1])
            gl_all[i, 1] = gl1
            det = h00 * h11 - h01 * h01
            if not (h00 > 0.0 and det > 0.0):
                return -1.0
            i00 = h11 / det
            i01 = -h01 / det
            i11 = h00 / det
            wl[i, 0] = i00 * gl0 + i01 * gl1
            wl[i, 1] = i01 * gl0 + i11 * gl1
            for g in range(G):
                mm[i, g, 0] = hgl[g, 0] * i00 + hgl[g, 1] * i01
                mm[i, g, 1] = hgl[g, 0] * i01 + hgl[g, 1] * i11
        else:
            if not h00 > 0.0:
                return -1.0
            wl[i, 0] = gl0 / h00
            for g in range(G):
                mm[i, g, 0] = hgl[g, 0] / h00
        for g in range(G):
            for q in range(L):
                rg[g] -= mm[i, g, q] * gl_all[i, q]
                for h in range(g, G):
                    schur[g, h] -= mm[i, g, q] * hgl[h, q]
    # symmetrise, constraints, fixed parameters
    for g in range(G):
        for h in range(g + 1, G):
            schur[h, g] = schur[g, h]
    for g in range(G):
        for h in range(G):
            rg[g] += prec[g, h] * (glob[bi, h] - aux_g[bi, h])
            schur[g, h] += prec[g, h]
    for g in range(G):
        if fixed[bi, g]:
            for h in range(G):
                schur[g, h] = 0.0
                schur[h, g] = 0.0
            schur[g, g] = 1.0
            rg[g] = 0.0
    for g in range(G):
        if not schur[g, g] > 0.0:
            return -1.0
        sc[g] = 1.0 / math.sqrt(schur[g, g])
    for g in range(G):
        for h in range(G):
            schur[g, h] *= sc[g] * sc[h]
        rg[g] *= sc[g]
    if not _chol_solve(schur, rg, dgs):
        return -1.0
    dec = 0.0
    for g in range(G):
        dg = dgs[g] * sc[g]
        dec += rg[g] * dgs[g]  # = rhs^T S^-1 rhs in scaled variables
        sg_out[bi, g] = -dg
        dgs[g] = dg
    for i in range(npt):
        for q in range(L):
            t = wl[i, q]
            for g in range(G):
                t -= mm[i, g, q] * dgs[g]
            sl_out[bi, i, q] = -t
            dec += gl_all[i, q] * wl[i, q]
    return dec


@njit(cache=True)
def scan_newton_step(glob, loc, n, aux_g, aux_l, midx, fixed, exact, x, b, sig, tau, s0, a, c,
                     r_norm, has_norm, prec):
    """Newton steps for a batch: (step_glob, step_loc, decrement, ok, used_fisher).

    The decrement g^T H^-1 g uses the Schur form rhs^T S^-1 rhs + g_l^T D^-1 g_l. Where the
    exact Hessian is not positive definite the Fisher-scoring step is taken instead.
    """
    bsz = glob.shape[0]
    sg = np.zeros(glob.shape)
    sl = np.zeros(loc.shape)
    dec = np.zeros(bsz)
    ok = np.zeros(bsz, np.bool_)
    fisher = np.zeros(bsz, np.bool_)
    G = glob.shape[1]
    npt = n.shape[1]
    L = loc.shape[2]
    scratch = (np.zeros((G, G)), np.zeros(G), np.zeros(G), np.zeros(L), np.zeros(G),
               np.zeros(a.shape[1]), np.zeros((G, L)), np.zeros((npt, G, L)), np.zeros((npt, L)),
               np.zeros((npt, L)), np.zeros(G), np.zeros(G))
    for bi in range(bsz):
        d = _step_one(bi, exact, glob, loc, n, aux_g, aux_l, midx, fixed, x, b, sig, tau, s0,
                      a, c, r_norm, has_norm, prec, sg, sl, scratch)
        if not d >= 0.0 and exact:
            fisher[bi] = True
            d = _step_one(bi, False, glob, loc, n, aux_g, aux_l, midx, fixed, x, b, sig, tau,
                          s0, a, c, r_norm, has_norm, prec, sg, sl, scratch)
        if d >= 0.0 and math.isfinite(d):
            ok[bi] = True
            dec[bi] = d
        else:
            for g in range(glob.shape[1]):
                sg[bi, g] = 0.0
            for i in range(loc.shape[1]):
                for q in range(loc.shape[2]):
                    sl[bi, i, q] = 0.0
    return sg, sl, dec, ok, fisher


@njit(cache=True)
def scan_objective(glob, loc, n, aux_g, aux_l, midx, x, b, sig, tau, s0, a, c, r_norm,
                   has_norm, prec):
    """Deviance part of -ln L plus the constraints, per data set (inf if some lambda <= 0)."""
    bsz, G = glob.shape
    npt = n.shape[1]
    L = loc.shape[2]
    ns = a.shape[1]
    nn = has_norm
    out = np.zeros(bsz)
    for bi in range(bsz):
        m = midx[bi]
        mu = glob[bi, 0]
        k0 = glob[bi, 1]
        k1 = glob[bi, 2]
        nf = 1.0 + r_norm * glob[bi, 3] if nn else 1.0
        tot = 0.0
        bad = False
        for i in range(npt):
            kk = k0 + k1 * x[i]
            pp = 1.0 + sig[i] * loc[bi, i, 0]
            ee = 1.0 + tau[i] * loc[bi, i, 1] if L == 2 else 1.0
            tt = s0[m, i]
            for j in range(ns):
                th = glob[bi, 3 + nn + j]
                tt += a[m, j, i] * th + c[m, j, i] * th * th
            lam = kk * pp * (b[i] + mu * ee * nf * tt)
            if not lam > 0.0:
                bad = True
                break
            ni = n[bi, i]
            tot += lam - ni
            if ni > 0.0:
                tot += ni * math.log(ni / lam)
            for q in range(L):
                d = loc[bi, i, q] - aux_l[bi, i, q]
                tot += 0.5 * d * d
        if bad:
            out[bi] = np.inf
            continue
        for g in range(G):
            dg = glob[bi, g] - aux_g[bi, g]
            for h in range(G):
                tot += 0.5 * dg * prec[g, h] * (glob[bi, h] - aux_g[bi, h])
        out[bi] = tot
    return out
