"""The galfitax command line (galfitax.cli): fits, imfit mode, demo data, error gallery."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from galfitax.cli import EXIT_BAD_INPUT, EXIT_OK, main
from galfitax.io import read_feedme

galsim = pytest.importorskip("galsim")

# Truth in GALFIT conventions; the image is rendered by GalSim (an independent renderer).
TRUTH = dict(x=16.8, y=15.6, flux=4000.0, re=3.5, n=1.5, q=0.6, pa=30.0)
SIGMA = 0.5
SHAPE = (32, 32)

FEEDME = """A) gal.fits
B) out/imgblock.fits
C) sigma.fits
D) none
E) 1
F) none
G) none
H) 1 32 1 32
I) 32 32
J) 25.0
K) 1.0 1.0
O) regular
P) 0
0) sersic
1) 16.0 16.0 1 1
3) 16.3 1
4) 3.0 1
5) 2.0 1
9) 0.7 1
10) 20.0 1
0) sky
1) 0.0 0
2) 0.0 0
3) 0.0 0
"""

CONFIG = """GAIN 1.0
X0 16.0 6,26
Y0 16.0 6,26
FUNCTION Sersic
PA 20.0
ell 0.3 0,0.9
n 2.0 0.3,8
I_e 40.0 0,1e4
r_e 3.0 0.5,20
FUNCTION FlatSky
I_sky 0.0 fixed
"""


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    hlr = TRUTH["re"] * np.sqrt(TRUTH["q"])  # GalSim's shear keeps the area
    galaxy = galsim.Sersic(n=TRUTH["n"], half_light_radius=hlr, flux=TRUTH["flux"]).shear(
        q=TRUTH["q"], beta=(TRUTH["pa"] + 90.0) * galsim.degrees)
    image = galsim.ImageD(SHAPE[1], SHAPE[0], scale=1.0)
    galaxy.drawImage(image, offset=(TRUTH["x"] - 16.5, TRUTH["y"] - 16.5))
    rng = np.random.default_rng(42)
    data = image.array + rng.normal(0.0, SIGMA, SHAPE)
    fits.writeto(folder / "gal.fits", data)
    fits.writeto(folder / "sigma.fits", np.full(SHAPE, SIGMA))
    (folder / "out").mkdir()
    (folder / "galfit.feedme").write_text(FEEDME)
    (folder / "config.dat").write_text(CONFIG)
    return folder


@pytest.fixture(scope="module")
def feedme_run(case):
    code = main(["fit", str(case / "galfit.feedme"), "--quiet"])
    return code, Table.read(case / "out" / "imgblock.ecsv", format="ascii.ecsv")


def test_fit_feedme(case, feedme_run):
    code, table = feedme_run
    assert code == EXIT_OK
    row = table[0]
    assert row["type"] == "sersic"
    assert row["x"] == pytest.approx(TRUTH["x"], abs=5 * row["x_err"] + 1e-3)
    assert row["y"] == pytest.approx(TRUTH["y"], abs=5 * row["y_err"] + 1e-3)
    assert row["n"] == pytest.approx(TRUTH["n"], abs=5 * row["n_err"] + 1e-3)
    assert row["re"] == pytest.approx(TRUTH["re"], abs=5 * row["re_err"] + 1e-3)
    assert row["q"] == pytest.approx(TRUTH["q"], abs=5 * row["q_err"] + 1e-3)
    assert row["mag"] == pytest.approx(25.0 - 2.5 * np.log10(TRUTH["flux"]),
                                       abs=5 * row["mag_err"] + 1e-3)
    assert row["pa"] == pytest.approx(TRUTH["pa"], abs=5 * row["pa_err"] + 0.1)
    assert 0.8 < table.meta["chi2_nu"] < 1.2
    with fits.open(case / "out" / "imgblock.fits") as hdul:
        header = hdul[2].header
        assert header["COMP_1"] == "sersic" and "+/-" in header["1_RE"]
        assert header["2_SKY"] == "[0.0000]" and header["INITFILE"] == "galfit.feedme"
        residual = hdul[3].data
        assert np.std(residual) == pytest.approx(SIGMA, rel=0.1)
    fitted = read_feedme(case / "out" / "galfit.01")
    assert fitted.components[0].values["n"] == pytest.approx(row["n"])
    assert (case / "out" / "imgblock.reg").is_file()


def test_cli_matches_python_api(case, feedme_run):
    from galfitax import LevMarFitter

    _, table = feedme_run
    setup = read_feedme(case / "galfit.feedme")
    inputs = setup.load_inputs()
    fitted = LevMarFitter()(setup.build_model(inputs.exptime), inputs.x, inputs.y, inputs.data,
                            sigma=inputs.sigma, mask=inputs.mask)
    assert fitted.n_0.value == pytest.approx(table["p_n"][0], rel=1e-8)
    assert fitted.x_0_0.value == pytest.approx(table["p_x_0"][0], rel=1e-8)


def test_existing_outputs_are_kept(case, feedme_run, capsys):
    before = (case / "out" / "imgblock.fits").stat().st_mtime_ns
    assert main(["fit", str(case / "galfit.feedme")]) == EXIT_BAD_INPUT
    assert "output file exists" in capsys.readouterr().err
    assert (case / "out" / "imgblock.fits").stat().st_mtime_ns == before


class _NeverCalled:
    def __call__(self, *args, **kwargs):
        raise AssertionError("the fit ran although its outputs cannot be written")


def test_existing_outputs_are_refused_before_fitting(case, feedme_run):
    from galfitax.exceptions import InputFileError
    from galfitax.io.run import fit_feedme, fit_imfit

    with pytest.raises(InputFileError, match="output file exists"):
        fit_feedme(case / "galfit.feedme", fitter=_NeverCalled())
    with pytest.raises(InputFileError, match="output file exists"):
        fit_imfit(case / "config.dat", case / "gal.fits", noise=case / "sigma.fits",
                  output=case / "out" / "imgblock.fits", fitter=_NeverCalled())


def test_fit_imfit_mode(case, feedme_run, capsys):
    code = main(["fit", "--imfit", str(case / "config.dat"), str(case / "gal.fits"),
                 "--noise", str(case / "sigma.fits"), "--output", str(case / "imfit.fits"),
                 "--zeropoint", "25"])
    assert code == EXIT_OK
    out = capsys.readouterr().out
    assert "FUNCTION Sersic" in out and "converged" in out and "r_e" in out
    table = Table.read(case / "imfit.ecsv", format="ascii.ecsv")
    _, galfit_table = feedme_run
    # same data and sigma, same model: the same optimum as the feedme run
    for key in ("x", "y", "mag", "re", "n", "q"):
        assert table[key][0] == pytest.approx(galfit_table[key][0], rel=1e-5, abs=1e-5), key
    assert (case / "imfit.imfit.dat").is_file()


def _gallery(folder):
    """Malformed inputs: (name, feedme text, extra files, expected words in the message)."""
    good = FEEDME.replace("B) out/imgblock.fits", "B) gallery.fits")
    return {
        "missing file": (good.replace("A) gal.fits", "A) nothere.fits"), "not found"),
        "bad line": (good.replace("4) 3.0 1", "4) three 1"), "line 17: expected a number"),
        "unknown component": (good.replace("0) sky", "0) halo"), "unknown or unsupported"),
        "nan image": (good.replace("A) gal.fits", "A) nan.fits"), "no finite pixel"),
        "psf too large": (good.replace("D) none", "D) bigpsf.fits"), "larger than"),
        "mask shape": (good.replace("F) none", "F) smallmask.fits"), "has shape (8, 8)"),
    }


@pytest.mark.parametrize("name", ["missing file", "bad line", "unknown component", "nan image",
                                  "psf too large", "mask shape"])
def test_bad_input_gallery(case, name, capsys, tmp_path):
    fits.writeto(tmp_path / "gal.fits", fits.getdata(case / "gal.fits"))
    fits.writeto(tmp_path / "sigma.fits", fits.getdata(case / "sigma.fits"))
    fits.writeto(tmp_path / "nan.fits", np.full(SHAPE, np.nan))
    fits.writeto(tmp_path / "bigpsf.fits", np.ones((41, 41)))
    fits.writeto(tmp_path / "smallmask.fits", np.zeros((8, 8)))
    text, words = _gallery(tmp_path)[name]
    (tmp_path / "bad.feedme").write_text(text)
    assert main(["fit", str(tmp_path / "bad.feedme")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("galfitax: error: ")
    assert words in err
    assert not (tmp_path / "gallery.fits").exists()


def test_imfit_mode_needs_one_image(case, capsys):
    assert main(["fit", "--imfit", str(case / "config.dat"), "a.fits", "b.fits"]) == 2
    assert "exactly one image" in capsys.readouterr().err


def test_demo_data_is_shipped():
    from galfitax.io.demo import DEMO_FILES, demo_data_path

    for name in DEMO_FILES:
        assert demo_data_path(name).is_file()
    setup = read_feedme(demo_data_path("galfit.feedme"))
    inputs = setup.load_inputs()
    assert inputs.data.shape == (96, 96) and inputs.psf.shape == (21, 21)
    assert abs(inputs.psf.sum() - 1.0) < 1e-5
    total = sum(p.stat().st_size for p in demo_data_path().iterdir())
    assert total < 300_000


@pytest.mark.parametrize("option", [1, 3])
def test_output_options(case, option, tmp_path):
    from galfitax.io.run import fit_feedme

    for name in ("gal.fits", "sigma.fits"):
        (tmp_path / name).write_bytes((case / name).read_bytes())
    text = FEEDME.replace("P) 0", f"P) {option}").replace("B) out/imgblock.fits", "B) m.fits")
    (tmp_path / "p.feedme").write_text(text)
    run = fit_feedme(tmp_path / "p.feedme")
    assert run.fit_info == {}  # nothing fitted
    with fits.open(tmp_path / "m.fits") as hdul:
        if option == 1:
            assert len(hdul) == 1 and hdul[0].header["COMP_1"] == "sersic"
            assert hdul[0].data.sum() == pytest.approx(10 ** (-0.4 * (16.3 - 25.0)), rel=0.05)
        else:
            assert [h.name for h in hdul] == ["PRIMARY", "COMP_1", "COMP_2"]
            assert hdul[2].header["OBJECT"] == "sky"
    assert not (tmp_path / "galfit.01").exists()


def test_batch_goes_on_after_bad_file(case, tmp_path, capsys):
    for name in ("gal.fits", "sigma.fits"):
        (tmp_path / name).write_bytes((case / name).read_bytes())
    (tmp_path / "bad.feedme").write_text(FEEDME.replace("0) sky", "0) halo"))
    good = FEEDME.replace("B) out/imgblock.fits", "B) good.fits")
    (tmp_path / "good.feedme").write_text(good)
    code = main(["fit", str(tmp_path / "bad.feedme"), str(tmp_path / "good.feedme"), "--quiet"])
    assert code == EXIT_BAD_INPUT
    assert "unknown or unsupported component 'halo'" in capsys.readouterr().err
    assert (tmp_path / "good.fits").is_file()


def test_not_converged_exit_code(case, tmp_path, monkeypatch):
    import galfitax.io.run

    for name in ("gal.fits", "sigma.fits"):
        (tmp_path / name).write_bytes((case / name).read_bytes())
    (tmp_path / "n.feedme").write_text(FEEDME.replace("B) out/imgblock.fits", "B) n.fits"))
    monkeypatch.setattr(galfitax.io.run, "run_fitter",
                        lambda model, inputs, fitter=None: (model, {"converged": False}))
    assert main(["fit", str(tmp_path / "n.feedme"), "--quiet"]) == 1
    assert (tmp_path / "n.fits").is_file()  # outputs are still written
