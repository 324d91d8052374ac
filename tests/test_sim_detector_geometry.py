"""ECal / ETag geometry and the shower model of the fast detector simulation.

References: docs/detector.md §1.3 (616 crystals, crystal-centre radii 64.05-303.4 mm at the
21.35 mm pitch, hole edges at +-2.5 cells), §1.6 (ETag rows), §2 (PadmeReco channel id 1414 at
the centre); PDG Review "Electromagnetic cascades" (90 % of the energy within one Moliere radius,
99 % within 3.5); the rectangle integrals against scipy's numerical integration.
"""

import numpy as np
import pytest
from scipy import integrate

from x17scan.errors import InputError
from x17scan.sim.detector import DetectorConfig
from x17scan.sim.ecal import CENTRE, crystal_id, padme_channel_id
from x17scan.sim.shower import ShowerModel, rect_integral

CFG = DetectorConfig.default_run3()


def test_crystal_map_count_and_radii():
    g = CFG.ecal
    assert g.n_crystals == 616
    r = g.crystal_radii()
    assert r.min() == pytest.approx(3 * 21.35, abs=1e-9)  # 64.05 mm: (±3, 0) cells
    assert r.max() == pytest.approx(303.4, abs=0.05)
    # the 5 x 5 hole: crystal edges at +-2.5 cells = +-53.4 mm
    assert not g.mask[CENTRE - 2:CENTRE + 3, CENTRE - 2:CENTRE + 3].any()
    assert g.mask[CENTRE, CENTRE + 3] and g.mask[CENTRE + 3, CENTRE + 3]
    assert np.array_equal(g.mask, g.mask[::-1]) and np.array_equal(g.mask, g.mask[:, ::-1])
    assert g.z_front == 3640.41 and g.pitch == 21.35


def test_cells_and_ids():
    g = CFG.ecal
    row, col = g.cell_of([0.0, 21.35 * 3 + 10.0, -53.4 - 0.01], [0.0, 0.0, 0.0])
    assert list(col) == [14, 17, 11] and list(row) == [14, 14, 14]
    assert padme_channel_id(crystal_id(14, 14)) == 1414
    assert padme_channel_id(crystal_id(0, 12)) == 1200  # row 0 (iy), column 12 (ix)
    assert list(g.has_crystal([14, 14, -1, 0], [14, 17, 3, 12])) == [False, True, False, True]
    x, _y = g.centres(pitch=21.45)
    assert x[crystal_id(14, 28)] == pytest.approx(14 * 21.45)


def test_etag_bars():
    t = CFG.etag
    assert t is not None and t.z < CFG.ecal.z_front
    bars = t.bar_at([0.0, 100.0, -100.0, 0.0, 50.0, 0.0, 0.0, 400.0],
                    [0.0, 0.0, 0.0, 44.3 * 3, 44.3, 44.3 * 7, 22.15, 0.0])
    # centre gap (rows 6-8, |x| < 65 mm); short bars: +1 on the x > 0 side; row 10 full bar;
    # row 7 at x=50 is in the gap; row 14; the dead paint between rows 7 and 8; outside
    assert list(bars) == [-1, 71, 70, 100, -1, 140, -1, -1]


def test_profile_containment_matches_pdg():
    sh = CFG.shower
    rm = sh.moliere_radius
    assert sh.moliere_radius == 22.3
    assert sh.containment(rm) == pytest.approx(0.90, abs=1e-3)
    assert sh.containment(3.5 * rm) == pytest.approx(0.99, abs=1e-3)


@pytest.mark.parametrize("box", [(-3.0, 5.0, 1.0, 12.0), (0.0, 21.35, -10.0, 11.35),
                                 (10.0, 40.0, 10.0, 40.0)])
def test_rect_integral_vs_numerical(box):
    radius = 8.0

    def dens(y, x):
        return radius**2 / (np.pi * (x * x + y * y + radius**2) ** 2)

    ref, _ = integrate.dblquad(dens, box[0], box[1], box[2], box[3], epsabs=1e-12)
    assert rect_integral(*box, radius) == pytest.approx(ref, rel=1e-9)


def test_sharing_table_is_block_containment():
    sh = CFG.shower
    tab = CFG.sharing_table
    k, nb = sh.block, sh.table_bins
    assert tab.shape == (nb + 1, nb + 1, k, k)
    assert np.all(tab >= 0)
    p = CFG.ecal.pitch
    # impact at the cell centre: the K x K block is the square |x|, |y| < K p / 2
    mid = nb // 2
    half = k * p / 2
    assert tab[mid, mid].sum() == pytest.approx(float(sh.rect_fraction(-half, half, -half, half)),
                                                rel=1e-12)
    # symmetric under x -> -x about the cell centre and x <-> y
    assert np.allclose(tab[mid, mid], tab[mid, mid][:, ::-1])
    assert np.allclose(tab[3, 7], np.swapaxes(tab[7, 3], 0, 1))
    assert tab[mid, mid, k // 2, k // 2] == tab[mid, mid].max()


def test_shower_depth_pdg_formula():
    sh = ShowerModel()
    e = 150.0
    assert sh.t_max(e, True) == pytest.approx(11.2 * (np.log(e / 10.2) + 0.5))
    assert sh.t_max(e, False) == pytest.approx(11.2 * (np.log(e / 10.2) - 0.5))
    assert sh.t_max(1.0, True) == 0.0


def _doc():
    import tomllib
    from importlib import resources

    text = resources.files("x17scan.sim").joinpath("detectors/run3.toml").read_text()
    return tomllib.loads(text)


@pytest.mark.parametrize("edit,field", [
    (lambda d: d["ecal"].update(pitchh=21.0), "ecal.pitchh"),
    (lambda d: d["ecal"].update(pitch="21.35"), "ecal.pitch"),
    (lambda d: d["response"].update(stochastic=-0.02), "response.stochastic"),
    (lambda d: d["shower"].update(block=4), "shower.block"),
    (lambda d: d["etag"].update(efficiency=1.5), "etag.efficiency"),
    (lambda d: d["ecal"].update(map=d["ecal"]["map"][:-1]), "ecal.map"),
    (lambda d: d["etag"].update(z=4000.0), "etag.z"),
])
def test_detector_toml_validation(edit, field):
    d = _doc()
    edit(d)
    with pytest.raises(InputError) as err:
        DetectorConfig.from_dict(d, source="run3.toml")
    assert err.value.field == field
    assert "\n" not in str(err.value) and "fix:" in str(err.value)
