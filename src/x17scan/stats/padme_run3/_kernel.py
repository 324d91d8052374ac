"""Compiled (numba) S+B fit kernel: the fast backend of :func:`..fit.fit_sb`.

Why numba: the vectorised numpy fit spends most of its time in ``scipy.special.wofz`` (about
0.2 us per point on the reference machine, 42 points, ~2.7 evaluations per fit) and in small
batched linear algebra; the observed grid alone is 1.2 million S+B fits. This kernel fuses,
per fit, the Voigt profile with its first and second derivatives, the chi2, gradient and
Hessian, and a 7x7 Cholesky solve, and uses Newton steps (exact Hessian, including the
residual-weighted second derivatives of the model) with a Gauss-Newton fallback, which cuts the
evaluations per fit roughly in half. The algorithm (EDM criterion, Marquardt damping, failure
rules) is the one of the numpy backend; tests check both against each other and iminuit.

Faddeeva function: Weideman's rational approximation (J.A.C. Weideman, SIAM J. Numer. Anal.
31 (1994) 1497), w(z) = 2 p(Z)/(L - iz)^2 + 1/(sqrt(pi)(L - iz)), Z = (L + iz)/(L - iz), with
N = 40 terms, L = sqrt(N/sqrt 2); valid in the upper half plane (Im z = Gamma_L/(sigma sqrt 2)
> 0 here). Its agreement with ``scipy.special.wofz`` on the Voigt profile is tested (< 1e-13
relative on the parameter domain of the fits).
"""

from __future__ import annotations

import math

import numpy as np

try:  # numba is a declared dependency; the numpy backend is used if it is unusable
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    HAVE_NUMBA = False

N_WEIDEMAN = 40


def weideman_coefficients(n_terms: int = N_WEIDEMAN) -> tuple[np.ndarray, float]:
    """Coefficients (highest power first) and L of Weideman's approximation with N terms."""
    m = 2 * n_terms
    k = np.arange(-m + 1, m)
    big_l = math.sqrt(n_terms / math.sqrt(2.0))
    theta = k * np.pi / m
    t = big_l * np.tan(theta / 2.0)
    f = np.concatenate([[0.0], np.exp(-t * t) * (big_l * big_l + t * t)])
    a = np.real(np.fft.fft(np.fft.fftshift(f))) / (2 * m)
    return np.ascontiguousarray(a[1:n_terms + 1][::-1]), big_l


_A, _L = weideman_coefficients()
_ISQ = 1.0 / math.sqrt(math.pi)
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


def _njit(*args, **kw):
    if not HAVE_NUMBA:  # pragma: no cover
        return (lambda f: f) if not args or not callable(args[0]) else args[0]
    return numba.njit(*args, **kw)


@_njit(cache=True)
def voigt_row(u, sig, gam, coef, big_l, out, scr):
    """V and its derivatives for one row: out[0..5] = V, V_s, V_g, V_ss, V_sg, V_gg.

    ``u`` (n,) distances E_beam - E_res (MeV); ``sig`` = BES E_res; ``gam`` = Gamma_L.
    ``scr`` (8, n) scratch. Zero for sig <= 0 or gam < 0 (TMath::Voigt convention).
    """
    n = u.shape[0]
    if not (sig > 0.0) or gam < 0.0:
        for k in range(6):
            for j in range(n):
                out[k, j] = 0.0
        return
    r = 1.0 / (_SQRT2 * sig)
    nrm = 1.0 / (sig * _SQRT2PI)
    zi = gam * r
    zr_a, dr_a = scr[0], scr[1]
    # local arrays: LLVM can prove they do not alias and vectorises the Horner loop over points
    Zr = np.empty(n)
    Zi = np.empty(n)
    pr = np.zeros(n)
    pim = np.zeros(n)
    dr = big_l + zi          # d = L - i z = (L + zi) - i zr
    nr = big_l - zi          # L + i z = (L - zi) + i zr
    for j in range(n):
        zr = u[j] * r
        zr_a[j] = zr
        di = -zr
        den = dr * dr + di * di
        Zr[j] = (nr * dr + zr * di) / den
        Zi[j] = (zr * dr - nr * di) / den
        dr_a[j] = den
    for k in range(coef.shape[0]):
        ak = coef[k]
        for j in range(n):
            t = pr[j] * Zr[j] - pim[j] * Zi[j] + ak
            pim[j] = pr[j] * Zi[j] + pim[j] * Zr[j]
            pr[j] = t
    for j in range(n):
        zr = zr_a[j]
        di = -zr
        den = dr_a[j]
        # 1/d and 1/d^2
        idr = dr / den
        idi = -di / den
        id2r = idr * idr - idi * idi
        id2i = 2.0 * idr * idi
        wr = 2.0 * (pr[j] * id2r - pim[j] * id2i) + _ISQ * idr
        wi = 2.0 * (pr[j] * id2i + pim[j] * id2r) + _ISQ * idi
        # w' = -2 z w + 2i/sqrt(pi); w'' = -2 (w + z w')
        w1r = -2.0 * (zr * wr - zi * wi)
        w1i = -2.0 * (zr * wi + zi * wr) + 2.0 * _ISQ
        zw1r = zr * w1r - zi * w1i
        zw1i = zr * w1i + zi * w1r
        w2r = -2.0 * (wr + zw1r)
        w2i = -2.0 * (wi + zw1i)
        v = wr * nrm
        vg = -w1i * r * nrm
        f = zw1r                                  # Re(w' z)
        vs = -v / sig - nrm * f / sig
        vgg = -nrm * r * r * w2r
        # Re(i r (w'' z + w')) = -r Im(w'' z + w')
        zw2i = zr * w2i + zi * w2r
        vsg = -vg / sig + nrm * r / sig * (zw2i + w1i)
        z2r = zr * zr - zi * zi
        z2i = 2.0 * zr * zi
        w2z2r = w2r * z2r - w2i * z2i
        vss = v / (sig * sig) - vs / sig + nrm * (3.0 * f + w2z2r) / (sig * sig)
        out[0, j] = v
        out[1, j] = vs
        out[2, j] = vg
        out[3, j] = vss
        out[4, j] = vsg
        out[5, j] = vgg


@_njit(cache=True)
def voigt_rows(u, sig, gam, out):
    """Many rows: ``u`` (B, n), ``sig``/``gam`` (B,), ``out`` (B, 6, n)."""
    n = u.shape[1]
    scr = np.empty((6, n))
    for b in range(u.shape[0]):
        voigt_row(u[b], sig[b], gam[b], _A, _L, out[b], scr)


@_njit(cache=True)
def _chol_solve(a, b, x, lw):
    """Solve a x = b for symmetric positive definite 7x7 a; False if not positive definite."""
    n = a.shape[0]
    for i in range(n):
        for j in range(i + 1):
            s = a[i, j]
            for k in range(j):
                s -= lw[i, k] * lw[j, k]
            if i == j:
                if not (s > 0.0):
                    return False
                lw[i, i] = math.sqrt(s)
            else:
                lw[i, j] = s / lw[j, j]
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= lw[i, k] * x[k]
        x[i] = s / lw[i, i]
    for i in range(n - 1, -1, -1):
        s = x[i]
        for k in range(i + 1, n):
            s -= lw[k, i] * x[k]
        x[i] = s / lw[i, i]
    return True


def t_sparsity(tm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise non-zeros of T: indices (7, m) and values (7, m) (padding: index 0, 0.0)."""
    cols = [np.flatnonzero(tm[:, p]) for p in range(tm.shape[1])]
    m = max(1, max(c.size for c in cols))
    idx = np.zeros((tm.shape[1], m), dtype=np.int64)
    val = np.zeros((tm.shape[1], m))
    for p, c in enumerate(cols):
        idx[p, :c.size] = c
        val[p, :c.size] = tm[c, p]
    return idx, val


@_njit(cache=True)
def _evaluate(th, vv, r, w, x, eres, g2, nzi, nzv, vd, jm, aux, hgn, hn, grad, gt, ht, hs):
    """chi2 at theta ``th`` (with its whitened ``vv``) given Voigt values ``vd`` (6, n).

    Fills the Gauss-Newton and Newton Hessians ``hgn``/``hn`` and the gradient ``grad`` in the
    whitened coordinates (halved: chi2(v + d) ~ chi2 + 2 G.d + d.H.d). ``nzi``/``nzv``: the
    sparsity of T (:func:`t_sparsity`). ``jm`` (7, n), ``aux`` (4, n) scratch. Returns chi2.
    The loops over points are plain reductions in IEEE order: no ``fastmath``, so that the
    result does not depend on which compiled specialisation numba dispatches to (writable vs
    read-only inputs), which would break bit-identical resumes.
    """
    n = x.shape[0]
    p0, p1, y0, e0, e1 = th[0], th[1], th[2], th[5], th[6]
    a = g2 * y0
    chi2 = 0.0
    for j in range(n):
        xj = x[j]
        k = p0 + p1 * xj
        e = e0 + e1 * xj
        v = vd[0, j]
        s = a * v * e
        one_s = 1.0 + s
        res = r[j] - k * one_s
        wj = w[j]
        wr = wj * res
        chi2 += wr * res
        jm[0, j] = one_s
        jm[1, j] = xj * one_s
        jm[2, j] = k * g2 * v * e
        jm[3, j] = k * a * e * vd[2, j]
        jm[4, j] = k * a * e * eres * vd[1, j]
        jm[5, j] = k * a * v
        jm[6, j] = k * a * v * xj
        aux[0, j] = wr
        aux[1, j] = wj
        aux[2, j] = wr / k
        aux[3, j] = wr * k
    for p in range(7):
        sg = 0.0
        for j in range(n):
            sg += aux[0, j] * jm[p, j]
        gt[p] = -sg
        for q in range(p + 1):
            sh = 0.0
            for j in range(n):
                sh += aux[1, j] * jm[p, j] * jm[q, j]
            ht[p, q] = sh
            ht[q, p] = sh
    for p in range(7):
        for q in range(7):
            hs[p, q] = 0.0
    if a != 0.0:
        # sum_j w_j r_j d2 mu_j / d theta_p d theta_q (the model is bilinear in K and S)
        for q in range(2, 7):
            s0 = 0.0
            s1 = 0.0
            for j in range(n):
                t = aux[2, j] * jm[q, j]
                s0 += t
                s1 += t * x[j]
            hs[q, 0] = s0
            hs[q, 1] = s1
        c32 = c42 = c52 = c62 = c33 = c43 = c53 = c63 = c44 = c54 = c64 = 0.0
        for j in range(n):
            kw = aux[3, j]
            xj = x[j]
            e = e0 + e1 * xj
            v = vd[0, j]
            vs = vd[1, j]
            vg = vd[2, j]
            c32 += kw * e * vg
            c42 += kw * e * vs
            c52 += kw * v
            c62 += kw * v * xj
            c33 += kw * e * vd[5, j]
            c43 += kw * e * vd[4, j]
            c53 += kw * vg
            c63 += kw * vg * xj
            c44 += kw * e * vd[3, j]
            c54 += kw * vs
            c64 += kw * vs * xj
        hs[3, 2] = g2 * c32
        hs[4, 2] = g2 * eres * c42
        hs[5, 2] = g2 * c52
        hs[6, 2] = g2 * c62
        hs[3, 3] = a * c33
        hs[4, 3] = a * eres * c43
        hs[5, 3] = a * c53
        hs[6, 3] = a * c63
        hs[4, 4] = a * eres * eres * c44
        hs[5, 4] = a * eres * c54
        hs[6, 4] = a * eres * c64
        for p in range(7):
            for q in range(p):
                hs[q, p] = hs[p, q]
    # whitened coordinates: theta = c + T v  ->  H_v = T^T H T + 1, G_v = T^T G + v
    m = nzi.shape[1]
    for p in range(7):
        sg = 0.0
        for aa in range(m):
            sg += nzv[p, aa] * gt[nzi[p, aa]]
        grad[p] = sg + vv[p]
        chi2 += vv[p] * vv[p]
    for p in range(7):
        for q in range(p + 1):
            s1 = 0.0
            s2 = 0.0
            for aa in range(m):
                ip = nzi[p, aa]
                tp = nzv[p, aa]
                for bb in range(m):
                    tq = tp * nzv[q, bb]
                    lq = nzi[q, bb]
                    s1 += tq * ht[ip, lq]
                    s2 += tq * hs[ip, lq]
            diag = 1.0 if p == q else 0.0
            hgn[p, q] = s1 + diag
            hgn[q, p] = s1 + diag
            hn[p, q] = s1 - s2 + diag
            hn[q, p] = s1 - s2 + diag
    return chi2


@_njit(cache=True)
def lm_rows(r, w, data_idx, x, ebeam, eres, g2, center, start, tm, tinv, nzi, nzv, anchor_idx,
            anchor_vd, tol, max_iter, newton, out_theta, out_chi2, out_conv, out_iter, out_edm):
    """Fit every row; returns the number of Voigt row evaluations (cost diagnostics).

    Row b fits the dataset ``r[data_idx[b]]``, ``w[data_idx[b]]``. ``anchor_idx[b] >= 0``
    selects precomputed Voigt values ``anchor_vd[idx]`` (6, n) valid at the row's start
    (shared by rows with the same start), else they are computed.
    """
    nb = data_idx.shape[0]
    n = x.shape[0]
    scr = np.empty((6, n))
    u = np.empty(n)
    vd = np.empty((6, n))
    vd_t = np.empty((6, n))
    hgn = np.empty((7, 7))
    hn = np.empty((7, 7))
    grad = np.empty(7)
    hgn_t = np.empty((7, 7))
    hn_t = np.empty((7, 7))
    grad_t = np.empty(7)
    th = np.empty(7)
    vv = np.empty(7)
    th_t = np.empty(7)
    vv_t = np.empty(7)
    step = np.empty(7)
    neg = np.empty(7)
    lw = np.empty((7, 7))
    hd = np.empty((7, 7))
    gt = np.empty(7)
    ht = np.empty((7, 7))
    hs = np.empty((7, 7))
    jm = np.empty((7, n))
    aux = np.empty((4, n))
    n_voigt = 0
    for b in range(nb):
        er = eres[b]
        for j in range(n):
            u[j] = ebeam[j] - er
        for p in range(7):
            th[p] = start[b, p]
        for p in range(7):
            s = 0.0
            for q in range(7):
                s += tinv[p, q] * (th[q] - center[b, q])
            vv[p] = s
        if anchor_idx[b] >= 0:
            for k in range(6):
                for j in range(n):
                    vd[k, j] = anchor_vd[anchor_idx[b], k, j]
        else:
            voigt_row(u, th[4] * er, th[3], _A, _L, vd, scr)
            n_voigt += 1
        rb = r[data_idx[b]]
        wb = w[data_idx[b]]
        chi2 = _evaluate(th, vv, rb, wb, x, er, g2[b], nzi, nzv, vd, jm, aux, hgn, hn, grad, gt,
                         ht, hs)
        lam = 0.0
        conv = False
        edm = np.inf
        it = 0
        if not math.isfinite(chi2):
            max_it_b = 0
        else:
            max_it_b = max_iter
        while it < max_it_b:
            it += 1
            for p in range(7):
                neg[p] = -grad[p]
            use_n = newton and _chol_solve(hn, neg, step, lw)
            if not use_n:
                _chol_solve(hgn, neg, step, lw)
            e = 0.0
            for p in range(7):
                e += neg[p] * step[p]
            edm = e
            if math.isfinite(e) and e < tol:
                conv = True
                break
            if lam > 0.0:
                for p in range(7):
                    for q in range(7):
                        hd[p, q] = hgn[p, q]
                    hd[p, p] += lam * hgn[p, p]
                _chol_solve(hd, neg, step, lw)
            for p in range(7):
                vv_t[p] = vv[p] + step[p]
            for p in range(7):
                s = center[b, p]
                for q in range(7):
                    s += tm[p, q] * vv_t[q]
                th_t[p] = s
            voigt_row(u, th_t[4] * er, th_t[3], _A, _L, vd_t, scr)
            n_voigt += 1
            c_t = _evaluate(th_t, vv_t, rb, wb, x, er, g2[b], nzi, nzv, vd_t, jm, aux, hgn_t,
                            hn_t, grad_t, gt, ht, hs)
            if math.isfinite(c_t) and c_t <= chi2 * (1.0 + 1e-15):
                chi2 = c_t
                for p in range(7):
                    th[p] = th_t[p]
                    vv[p] = vv_t[p]
                    grad[p] = grad_t[p]
                    for q in range(7):
                        hgn[p, q] = hgn_t[p, q]
                        hn[p, q] = hn_t[p, q]
                lam = 0.0 if lam * 0.1 < 1e-4 else lam * 0.1
            else:
                lam = 1e-4 if lam * 10.0 < 1e-4 else lam * 10.0
                if lam > 1e8:
                    break
        for p in range(7):
            out_theta[b, p] = th[p]
        out_chi2[b] = chi2
        out_conv[b] = conv
        out_iter[b] = it
        out_edm[b] = edm
    return n_voigt
