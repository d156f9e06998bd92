"""GALFIT feedme files: parsing, constraints, model building, writing (galfitax.io.feedme)."""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from galfitax.exceptions import InputFileError, InvalidImageError, InvalidPSFError
from galfitax.io import read_feedme, write_feedme
from galfitax.io.feedme import GalfitSetup

DATA = Path(__file__).parent / "data"

ALL_COMPONENTS = """
A) gal.fits
B) out.fits
C) none
D) none
E) 1
F) none
G) none
H) 1 60 1 50
I) 40 40
J) 25.5
K) 0.1 0.1
O) regular
P) 0
0) sersic
1) 30.5 25.5 1 1
3) 18.0 1
4) 5.0 1
5) 2.5 1
9) 0.6 1
10) 30.0 1
C0) 0.2 1
Z) 1
0) devauc
1) 30.5 25.5 0 0
3) 19.0 1
4) 3.0 0
9) 0.9 1
10) -20.0 1
0) expdisk
1) 20.0 20.0 1 1
3) 17.0 1
4) 8.0 1
9) 0.3 1
10) 80.0 1
0) gaussian
1) 10.0 10.0 1 1
3) 21.0 1
4) 2.0 1
9) 1.0 0
10) 0.0 0
0) moffat
1) 10.0 40.0 1 1
3) 21.0 1
4) 2.0 1
5) 3.0 1
9) 1.0 0
10) 0.0 0
0) psf
1) 50.0 10.0 1 1
3) 20.0 1
0) edgedisk
1) 30.0 30.0 1 1
3) 19.0 1
4) 2.0 1
5) 10.0 1
10) 45.0 1
0) nuker
1) 30.0 30.0 1 1
3) 18.0 1
4) 6.0 1
5) 2.0 1
6) 3.0 1
7) 0.5 1
9) 0.8 1
10) 10.0 1
0) king
1) 40.0 20.0 1 1
3) 19.0 1
4) 3.0 1
5) 30.0 1
6) 2.0 0
9) 0.9 1
10) 10.0 1
0) ferrer
1) 25.0 25.0 1 1
3) 20.0 1
4) 15.0 1
5) 2.0 1
6) 0.5 1
9) 0.5 1
10) 60.0 1
0) sky
1) 1.5 1
2) 0.01 1
3) 0.0 0
"""


@pytest.fixture()
def all_setup(tmp_path):
    path = tmp_path / "all.feedme"
    path.write_text(ALL_COMPONENTS)
    return read_feedme(path)


def test_bench_feedme_parses():
    setup = read_feedme(DATA / "bench_b000.feedme")
    assert [c.name for c in setup.components] == ["sersic", "sersic", "sky"]
    assert setup.region == (1, 128, 1, 128) and setup.conv_box == (128, 128)
    assert setup.zeropoint == 30.0 and setup.psf == "psf.fits"
    assert setup.resolve(setup.data) == DATA / "data.fits"
    assert setup.components[1].free["n"] is False
    kinds = [(c.kind, c.components, c.parameter) for c in setup.constraints]
    assert ("offset", (1, 2), "x") in kinds and ("range", (1,), "n") in kinds
    model = setup.build_model()
    assert model.bounds["n_0"] == (0.3, 10.0)
    assert model.bounds["ellip_0"] == pytest.approx((0.0, 0.95))
    x0 = setup.components[0].values["x"] - 1.0
    assert model.bounds["x_0_0"] == pytest.approx((x0 - 10.0, x0 + 10.0))
    assert model.fixed["n_1"] and model.fixed["amplitude_2"] and model.fixed["c0_0"]
    model.x_0_0 = 70.0
    assert model.tied["x_0_1"](model) == pytest.approx(70.0)  # same initial centre


def test_round_trip_same_folder(all_setup, tmp_path):
    path = write_feedme(all_setup, tmp_path / "galfit.01")
    again = read_feedme(path)
    assert again == all_setup
    assert "C0)" in path.read_text()
    assert again.components[0].skip and not again.components[1].skip


def test_round_trip_other_folder(tmp_path):
    setup = read_feedme(DATA / "bench_b000.feedme")
    (tmp_path / "sub").mkdir()
    path = write_feedme(setup, tmp_path / "sub" / "copy.feedme")
    again = read_feedme(path)
    assert again.with_absolute_paths() == setup.with_absolute_paths()
    assert again.resolve(again.data).resolve() == (DATA / "data.fits").resolve()


def test_every_component_builds(all_setup):
    model = all_setup.build_model()
    names = [type(m).__name__ for m in (model[i] for i in range(model.n_submodels))]
    assert names == ["Sersic2D", "DeVaucouleurs2D", "Exponential2D", "Gaussian2D", "Moffat2D",
                     "PointSource2D", "EdgeOnDisk2D", "Nuker2D", "King2D", "Ferrers2D",
                     "TiltedSky"]
    assert model.c0_0.value == 0.2 and not model.fixed["c0_0"]
    assert model.fixed["x_0_1"] and model.fixed["r_eff_1"]
    # sky gradient reference: the centre of the H) region, 0-based
    assert (model.x_0_10.value, model.y_0_10.value) == (29.5, 24.5)
    assert model.fixed["slope_y_10"] and not model.fixed["slope_x_10"]


def test_with_model_and_from_model(all_setup):
    model = all_setup.build_model()
    model.r_eff_0 = 6.5
    model.theta_0 = np.radians(300.0)
    updated = all_setup.with_model(model)
    assert updated.components[0].values["re"] == pytest.approx(6.5)
    assert updated.components[0].values["pa"] == pytest.approx(30.0)  # folded into (-90, 90]
    assert updated.components[3].values == pytest.approx(all_setup.components[3].values)
    rebuilt = GalfitSetup.from_model(model, "gal.fits", zeropoint=25.5, plate_scale=(0.1, 0.1))
    assert [c.name for c in rebuilt.components] == [c.name for c in all_setup.components]
    assert rebuilt.components[1].free["x"] is False


def test_constraint_kinds(tmp_path):
    (tmp_path / "c.txt").write_text("1 n 0.5 to 6\n1 re -1 2\n1_2 re ratio\n1_2 pa offset\n"
                                    "1_2 q ratio\n2 mag -1 1 # relative\n")
    text = ALL_COMPONENTS.replace("G) none", "G) c.txt")
    (tmp_path / "g.feedme").write_text(text)
    setup = read_feedme(tmp_path / "g.feedme")
    model = setup.build_model()
    assert model.bounds["n_0"] == (0.5, 6.0)
    assert model.bounds["r_eff_0"] == pytest.approx((4.0, 7.0))
    flux = model.flux_1.value
    low, high = model.bounds["flux_1"]
    assert low == pytest.approx(flux * 10 ** -0.4) and high == pytest.approx(flux * 10 ** 0.4)
    model.r_eff_0 = 10.0
    assert model.tied["r_eff_1"](model) == pytest.approx(6.0)  # initial ratio 3/5
    model.theta_0 = 1.0
    assert model.tied["theta_1"](model) == pytest.approx(1.0 + np.radians(-50.0))
    model.ellip_0 = 0.7  # q 0.3; initial q ratio 0.9 / 0.6
    assert model.tied["ellip_1"](model) == pytest.approx(1.0 - 0.3 * 1.5)


@pytest.mark.parametrize("line, message", [
    ("0) bulge", "unknown or unsupported component 'bulge'"),
    ("F1) 0.1 10 1 1", "Fourier modes"),
    ("B2) 0.1 1", "bending modes"),
    ("R0) powerlaw", "coordinate rotation"),
    ("3) 18.0 yes", "flag must be 0 or 1"),
    ("4) abc 1", "expected a number"),
    ("Q) 3", "unrecognised line"),
])
def test_bad_lines_name_file_and_line(tmp_path, line, message):
    lines = ALL_COMPONENTS.splitlines()
    index = lines.index("0) devauc")
    lines.insert(index, line)
    path = tmp_path / "bad.feedme"
    path.write_text("\n".join(lines))
    with pytest.raises(InputFileError, match=message) as info:
        read_feedme(path)
    assert info.value.line == index + 1 and info.value.path == str(path)
    assert f"line {index + 1}" in str(info.value)


@pytest.mark.parametrize("constraint, message", [
    ("3-7 mag -0.5 3", "soft coupling"),
    ("1 f1a 0 1", "not supported"),
    ("1 n 0.5 6 7", "cannot read constraint"),
    ("1 x offset", "two or more components"),
    ("1_99 x offset", "component 99 does not exist"),
])
def test_bad_constraints(tmp_path, constraint, message):
    (tmp_path / "c.txt").write_text("1 n 0.5 to 6\n" + constraint + "\n")
    (tmp_path / "g.feedme").write_text(ALL_COMPONENTS.replace("G) none", "G) c.txt"))
    with pytest.raises(InputFileError, match=message) as info:
        read_feedme(tmp_path / "g.feedme")
    assert info.value.line == 2 and info.value.path.endswith("c.txt")


def test_missing_parameter_line(tmp_path):
    path = tmp_path / "m.feedme"
    path.write_text("A) g.fits\n0) sersic\n1) 1 1 1 1\n3) 18 1\n4) 3 1\n9) 1 1\n10) 0 1\n")
    with pytest.raises(InputFileError, match=r"lacks line 5\) \(n\)") as info:
        read_feedme(path)
    assert info.value.line == 2


def _write_images(folder, shape=(20, 24), *, data=None, mask_shape=None, psf_shape=(5, 5)):
    rng = np.random.default_rng(1)
    fits.writeto(folder / "gal.fits", rng.normal(size=shape) if data is None else data)
    fits.writeto(folder / "psf.fits", np.ones(psf_shape) / np.prod(psf_shape))
    fits.writeto(folder / "mask.fits", np.zeros(mask_shape or shape, dtype=np.int16))


SIMPLE = """A) gal.fits
C) none
D) {psf}
F) {mask}
H) 3 22 2 19
J) 25
0) sersic
1) 10 10 1 1
3) 18 1
4) 3 1
5) 1 1
9) 1 1
10) 0 1
"""


def test_load_inputs_region_mask_list(tmp_path):
    _write_images(tmp_path)
    (tmp_path / "bad.txt").write_text("# x y\n5 4\n22 19\n")
    path = tmp_path / "s.feedme"
    path.write_text(SIMPLE.format(psf="psf.fits", mask="bad.txt"))
    inputs = read_feedme(path).load_inputs()
    assert inputs.data.shape == (18, 20)
    assert inputs.x[0, 0] == 2.0 and inputs.y[0, 0] == 1.0  # 0-based full-image coordinates
    assert inputs.mask.sum() == 2 and inputs.mask[3 - 1, 5 - 3] and inputs.mask[-1, -1]
    assert np.all(inputs.sigma > 0) and inputs.psf.shape == (5, 5)


@pytest.mark.parametrize("case, error, message", [
    ("missing", InputFileError, r"s.feedme, line 1: data image '.*gal.fits' not found"),
    ("nan", InvalidImageError, "no finite pixel"),
    ("psf", InvalidPSFError, "larger than the 20 x 18 fitting region"),
    ("mask", InvalidImageError, r"mask 'mask.fits' has shape \(10, 10\)"),
])
def test_load_inputs_errors(tmp_path, case, error, message):
    if case != "missing":
        _write_images(tmp_path, data=np.full((20, 24), np.nan) if case == "nan" else None,
                      mask_shape=(10, 10) if case == "mask" else None,
                      psf_shape=(25, 25) if case == "psf" else (5, 5))
    path = tmp_path / "s.feedme"
    path.write_text(SIMPLE.format(psf="psf.fits", mask="mask.fits"))
    with pytest.raises(error, match=message):
        read_feedme(path).load_inputs()
