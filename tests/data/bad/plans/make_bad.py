"""Regenerate the malformed scan plans of this folder and their manifest.toml.

    python tests/data/bad/plans/make_bad.py
"""

from pathlib import Path

HERE = Path(__file__).parent

GOOD_HEAD = """[plan]
name = "bad"

[beam]
bes = 0.0025
"""


def point(e, pot=1e10, extra=""):
    return f"\n[[points]]\ne_beam = {e}\npot = {pot}\n{extra}"


CASES = {
    # name: (text, field, row or None, why)
    "unknown_top_key.toml": (GOOD_HEAD + "\n[lumi]\nx = 1\n" + point(280.0), "lumi", None,
                             "unknown top-level table"),
    "unknown_beam_key.toml": (GOOD_HEAD.replace("bes = 0.0025", "bes = 0.0025\nspreed = 1")
                              + point(280.0), "beam.spreed", None, "typo in a beam key"),
    "unknown_point_key.toml": (GOOD_HEAD + point(280.0) + point(281.0, extra="energy = 3\n"),
                               "points[1].energy", 1, "unknown key in a point"),
    "negative_energy.toml": (GOOD_HEAD + point(280.0) + point(-281.0), "points[1].e_beam", 1,
                             "negative beam energy"),
    "energy_in_gev.toml": (GOOD_HEAD + point(0.28), "points[0].e_beam", 0,
                           "GeV instead of MeV: outside the BTF range"),
    "energy_above_btf.toml": (GOOD_HEAD + point(280.0) + point(800.0), "points[1].e_beam", 1,
                              "above the BTF positron range"),
    "negative_pot.toml": (GOOD_HEAD + point(280.0) + point(281.0, pot=-1e10),
                          "points[1].pot", 1, "negative PoT"),
    "pot_in_units_of_1e10.toml": (GOOD_HEAD + point(280.0, pot=1.2), "points[0].pot", 0,
                                  "PoT given in units of 1e10"),
    "unsorted_points.toml": (GOOD_HEAD + point(282.0) + point(281.0), "points[1].e_beam", 1,
                             "points not in increasing energy"),
    "duplicate_point.toml": (GOOD_HEAD + point(281.0) + point(281.0), "points[1].e_beam", 1,
                             "same energy and run twice"),
    "unknown_kind.toml": (GOOD_HEAD + point(281.0, extra='kind = "resonance"\n'),
                          "points[0].kind", 0, "kind not one of the allowed"),
    "negative_bes.toml": (GOOD_HEAD.replace("0.0025", "-0.0025") + point(280.0), "beam.bes",
                          None, "negative beam-energy spread"),
    "unknown_material.toml": (GOOD_HEAD + '\n[target]\nmaterial = "gold"\n' + point(280.0),
                              "target.material", None, "target material not known"),
    "no_points.toml": (GOOD_HEAD, "points", None, "no [[points]]"),
    "pot_err_relative.toml": (GOOD_HEAD + point(280.0, extra="pot_err = 0.003\n"),
                              "points[0].pot_err", 0,
                              "relative PoT error (used to fail late, after simulating)"),
    "pot_rel_err_percent.toml": (GOOD_HEAD + "pot_rel_err = 3\n" + point(280.0),
                                 "beam.pot_rel_err", None, "per cent written as a number (3 %)"),
    "pot_rel_err_tiny.toml": (GOOD_HEAD + "pot_rel_err = 1e-12\n" + point(280.0),
                              "beam.pot_rel_err", 0,
                              "default pot_err below one positron (named points[0].pot_err)"),
    "used_as_string.toml": (GOOD_HEAD + point(280.0, extra='used = "no"\n'), "points[0].used",
                            None, "quoted boolean (bool('no') is True)"),
    "period_not_integer.toml": (GOOD_HEAD + point(280.0, extra="period = 1.5\n"),
                                "points[0].period", None, "fractional period"),
    "run_not_a_number.toml": (GOOD_HEAD + point(280.0, extra='run = "abc"\n'), "points[0].run",
                              None, "run not a number (used to be an internal error)"),
    "negative_run.toml": (GOOD_HEAD + point(280.0, extra="run = -1\n"), "points[0].run", 0,
                          "negative run index"),
    "duplicate_label.toml": (GOOD_HEAD + point(280.0, extra='label = "A"\n')
                             + point(281.0, extra='label = "A"\n'), "points[1].label", 1,
                             "two points with one label"),
    "spot_not_numbers.toml": (GOOD_HEAD + 'spot_size = ["a", 1.0]\n' + point(280.0),
                              "beam.spot_size", None,
                              "a string in a list (used to be an internal error)"),
    "spot_one_value.toml": (GOOD_HEAD + "spot_size = [1.0]\n" + point(280.0), "beam.spot_size",
                            None, "one value for [x, y] (the message's brackets used to vanish)"),
    "energy_as_list.toml": (GOOD_HEAD + point("[280.0]"), "points[0].e_beam", None,
                            "a list where a number is expected (used to be an internal error)"),
    "plan_not_a_table.toml": ("plan = 3\n" + point(280.0), "plan", None,
                              "a value where a table is expected"),
    "point_not_a_table.toml": ("points = [1, 2]\n", "points[0]", 0,
                               "numbers where point tables are expected"),
}


# not text at all: written as bytes by main()
BINARY = {"not_utf8.toml": (b"[plan]\nname = \"\xd0\xff\"\n", "--plan", None,
                            "bytes that are not UTF-8 (used to be an internal error)")}


def main() -> None:
    lines = ["# Malformed scan plans: `x17scan simulate --plan FILE` must refuse each with exit",
             "# code 2 and one line naming `field` (and `row`, the 0-based point index) and a",
             "# fix. Generated by make_bad.py (run it to regenerate the files and this manifest).",
             ""]
    for name, (text, field, row, why) in CASES.items():
        (HERE / name).write_text(text, encoding="utf-8")
        lines.append(f'[files."{name}"]')
        lines.append('command = ["simulate", "--plan", "{path}", "--out", "{out}"]')
        lines.append(f'field = "{field}"')
        if row is not None:
            lines.append(f"row = {row}")
        lines.append(f'why = "{why}"')
        lines.append("")
    for name, (data, field, _row, why) in BINARY.items():
        (HERE / name).write_bytes(data)
        lines += [f'[files."{name}"]',
                  'command = ["simulate", "--plan", "{path}", "--out", "{out}"]',
                  f'field = "{field}"', f'why = "{why}"', ""]
    (HERE / "manifest.toml").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
