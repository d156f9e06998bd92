"""GALFITM multiband feedme files and GALFITM-layout outputs."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from galfitax.exceptions import InputFileError
from galfitax.io.galfitm import (
    fit_galfitm,
    galfitm_results_table,
    is_galfitm_feedme,
    read_galfitm,
    write_galfitm,
)
from galfitax.io.imgblock import read_imgblock_header

SHAPE = (24, 26)

# bands listed red, blue, redder: galfitax orders them by wavelength
FEEDME = """
# GALFITM multiband input
A) r.fits,g.fits,i.fits     # data
A1) r,g,i
A2) 6220,4750,7630
B) out.fits
C) sig_r.fits,sig_g.fits,sig_i.fits
D) {psf}
E) 1
F) none,mask_g.fits,none
G) none
H) 1 26 1 24
J) 26.0,25.5,26.5
K) 0.2 0.2
O) regular
P) {option}
 0) sersic
 1) 13.0              1  band   # x
 2) 12.5              1  band   # y
 3) 17.0,17.5,16.8    3  band   # mag per band (r, g, i)
 4) 3.0,2.8,3.2       2  band
 5) 2.0               2  band
 9) 0.6               1  band
10) 20.0              1  band
 Z) 0
 0) sky
 1) 0.5,0.4,0.6       3  band
 2) 0.0               0  band
 3) 0.0               0  band
"""


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[-3:4, -3:4]
    psf = np.exp(-(x**2 + y**2) / 3.0)
    for band in "gri":
        fits.writeto(tmp_path / f"{band}.fits", rng.normal(size=SHAPE).astype(np.float32))
        fits.writeto(tmp_path / f"sig_{band}.fits", np.ones(SHAPE, np.float32))
        fits.writeto(tmp_path / f"psf_{band}.fits", (psf / psf.sum()).astype(np.float32))
    mask = np.zeros(SHAPE, np.int16)
    mask[3, 4] = 1
    fits.writeto(tmp_path / "mask_g.fits", mask)
    return tmp_path


def write(folder, text=None, psf="psf_r.fits,psf_g.fits,psf_i.fits", option=0):
    path = folder / "galfitm.feedme"
    path.write_text(text if text is not None else FEEDME.format(psf=psf, option=option))
    return path


def test_read_sorts_bands_by_wavelength(folder):
    setup = read_galfitm(write(folder))
    assert setup.labels == ["g", "r", "i"]
    assert list(setup.wavelengths) == [4750.0, 6220.0, 7630.0]
    assert [band.data for band in setup.bands] == ["g.fits", "r.fits", "i.fits"]
    assert [band.zeropoint for band in setup.bands] == [25.5, 26.0, 26.5]
    assert [band.mask for band in setup.bands] == ["mask_g.fits", None, None]
    assert setup.bands[0].region == (1, 26, 1, 24) and setup.bands[0].plate_scale == (0.2, 0.2)
    assert setup.components == ["sersic", "sky"]
    assert setup.values[0]["mag"] == [17.5, 17.0, 16.8]
    assert setup.values[0]["re"] == [2.8, 3.0, 3.2]
    assert setup.values[0]["x"] == [13.0] * 3
    assert setup.freedom[0] == {"x": 1, "y": 1, "mag": 3, "re": 2, "n": 2, "q": 1, "pa": 1,
                                "c0": 0}
    assert setup.freedom[1] == {"sky": 3, "dsdx": 0, "dsdy": 0}
    assert is_galfitm_feedme(folder / "galfitm.feedme")


def test_build_model_converts_conventions_per_band(folder):
    setup = read_galfitm(write(folder))
    model = setup.build_model()
    assert model.band_names == ("g", "r", "i")
    assert model.freedom["flux_0"] == 3 and model.freedom["r_eff_0"] == 2
    assert model.freedom["c0_0"] == 0 and model.freedom["amplitude_1"] == 3
    values = model.band_parameters()
    names = model.param_names
    flux = values[:, names.index("flux_0")]
    assert np.allclose(flux, 10 ** (-0.4 * (np.array([17.5, 17.0, 16.8])
                                             - np.array([25.5, 26.0, 26.5]))))
    assert np.allclose(values[:, names.index("x_0_0")], 12.0)
    assert np.allclose(values[:, names.index("ellip_0")], 0.4)
    assert np.allclose(values[:, names.index("theta_0")], np.radians(110.0))
    assert np.allclose(values[:, names.index("amplitude_1")], [0.4, 0.5, 0.6])
    # r_e 2.8, 3.0, 3.2 is linear in wavelength only approximately: least squares
    r_eff = values[:, names.index("r_eff_0")]
    assert np.allclose(r_eff, [2.8, 3.0, 3.2], atol=0.01)


def test_load_bands_reads_images_psfs_and_masks(folder):
    setup = read_galfitm(write(folder))
    bands = setup.load_bands()
    assert [b.name for b in bands] == ["g", "r", "i"]
    assert [b.zeropoint for b in bands] == [25.5, 26.0, 26.5]
    assert bands[0].mask[3, 4] and not bands[1].mask.any()
    assert bands[0].psf.shape == (7, 7)
    assert bands[0].psf_options["pixel_response"] == "galfit"
    assert bands[0].shape == SHAPE and bands[0].origin == (0.0, 0.0)


@pytest.mark.parametrize("old, new, match", [
    ("C) sig_r.fits,sig_g.fits,sig_i.fits", "C) sig_r.fits,sig_g.fits", "lists 2 entries"),
    ("4) 3.0,2.8,3.2       2  band", "4) 3.0,2.8,3.2       2  cheb", "'cheb'"),
    ("5) 2.0               2  band", "5) 2.0               4  band", "between 0 and"),
    ("5) 2.0               2  band", "5) 2.0,2.1           2  band", "2 values for 3 bands"),
    ("5) 2.0               2  band", "5) 2.0  1 1", "GALFITM format"),
    ("A2) 6220,4750,7630", "", "band wavelengths are required"),
    ("A2) 6220,4750,7630", "A2) 6220,4750,4750", "must differ"),
    ("A1) r,g,i", "A1) r,g,R", "unique band labels"),
    ("G) none", "G) constraints.txt", "constraint files"),
    (" 0) sky", " 0) blob", "unknown or unsupported component 'blob'"),
    ("10) 20.0              1  band", "F1) 0.1 1 band", "Fourier"),
    ("D) {psf}", "D) psf_r.fits,psf_g.fits,psf_i.fits kernel.fits", "diffusion kernels"),
])
def test_bad_galfitm_files(folder, old, new, match):
    text = FEEDME.replace(old, new).format(psf="psf_r.fits,psf_g.fits,psf_i.fits", option=0)
    path = write(folder, text)
    with pytest.raises(InputFileError, match=match) as info:
        read_galfitm(path)
    assert "galfitm.feedme" in str(info.value)


def _fake_fit(model, bands):
    """Coefficient covariance and fit_info as a fit would leave them (no solver run)."""
    n = len(model.coeff_names)
    model.cov_matrix = np.diag(np.linspace(1e-4, 1e-3, n))
    images = [np.full(SHAPE, 0.25 * (b + 1)) for b in range(model.n_bands)]
    model.fit_info = dict(chi2=3.0, dof=3 * SHAPE[0] * SHAPE[1] - n, chi2_nu=1.01,
                          n_good=3 * SHAPE[0] * SHAPE[1], n_free=n, n_iter=7, nfev=9,
                          converged=True, message="ok",
                          band_chi2=np.array([1.0, 1.0, 1.0]),
                          band_n_good=np.array([SHAPE[0] * SHAPE[1]] * 3),
                          band_chi2_nu=np.array([0.9, 1.0, 1.1]), model_images=images)
    return model


def test_galfitm_output_layout_round_trip(folder):
    setup = read_galfitm(write(folder))
    bands = setup.load_bands()
    model = _fake_fit(setup.build_model(), bands)
    out = write_galfitm(folder / "out.fits", model, bands, names=setup.components)
    table = model.band_table()
    with fits.open(out) as hdul:
        names = [hdu.name for hdu in hdul]
        assert names == ["PRIMARY", "INPUT_G", "MODEL_G", "RESIDUAL_G", "INPUT_R", "MODEL_R",
                         "RESIDUAL_R", "INPUT_I", "MODEL_I", "RESIDUAL_I", "FINAL_BAND",
                         "FINAL_CHEB", "FIT_INFO"]
        header = hdul["MODEL_R"].header
        comps = read_imgblock_header(header)
        assert [c["type"] for c in comps] == ["sersic", "sky"]
        re_value, re_error, held = comps[0]["RE"]
        assert re_value == pytest.approx(table["r_eff_0"][1], abs=1e-4)
        assert re_error == pytest.approx(table["r_eff_0_std"][1], abs=1e-4)
        assert not held
        mag = 26.0 - 2.5 * np.log10(table["flux_0"][1])
        assert comps[0]["MAG"][0] == pytest.approx(mag, abs=1e-4)
        assert header["CHI2NU"] == pytest.approx(1.0) and header["BAND"] == "r"
        assert hdul["MODEL_R"].data[0, 0] == pytest.approx(0.5)
        residual = hdul["RESIDUAL_G"].data
        assert np.isnan(residual[3, 4])  # masked pixel
        assert residual[0, 0] == pytest.approx(bands[0].data[0, 0] - 0.25, abs=1e-5)
        final = Table(hdul["FINAL_BAND"].data)
        assert list(final["BAND"]) == ["g", "r", "i"]
        assert np.allclose(final["COMP1_RE"], table["r_eff_0"], atol=1e-10)
        assert np.allclose(final["COMP1_RE_ERR"], table["r_eff_0_std"], rtol=1e-3)
        cheb = Table(hdul["FINAL_CHEB"].data)
        assert list(cheb["NAME"]) == list(model.coeff_names)
        assert np.allclose(cheb["ERR"], model.stds)
    with pytest.raises(InputFileError, match="exists"):
        write_galfitm(out, model, bands)
    with pytest.raises(InputFileError, match="input"):
        write_galfitm(folder / "g.fits", model, bands, overwrite=True,
                      protected=[folder / "g.fits"])


def test_results_table_has_one_row_per_component_and_band(folder, tmp_path):
    setup = read_galfitm(write(folder))
    bands = setup.load_bands()
    model = _fake_fit(setup.build_model(), bands)
    table = galfitm_results_table(model, bands, names=setup.components)
    assert len(table) == 6
    assert list(table["band"]) == ["g", "r", "i", "g", "r", "i"]
    assert list(table["component"]) == [1, 1, 1, 2, 2, 2]
    path = tmp_path / "results.ecsv"
    table.write(path, format="ascii.ecsv")
    back = Table.read(path)
    assert np.allclose(back["re"][:3], model.band_table()["r_eff_0"])
    assert back.meta["chi2_nu"] == pytest.approx(1.01)


def test_fit_galfitm_without_fitting_writes_outputs(folder):
    path = write(folder, psf="none", option=2)
    run = fit_galfitm(path)
    outputs = run.outputs
    assert set(outputs) == {"imgblock", "table"} and run.converged
    assert [band.name for band in run.bands] == ["g", "r", "i"]
    with fits.open(outputs["imgblock"]) as hdul:
        assert "MODEL_I" in hdul
        assert float(np.nansum(hdul["MODEL_I"].data)) > 0
    with pytest.raises(InputFileError, match="exists"):
        fit_galfitm(path)


def test_single_band_feedme_is_not_galfitm(tmp_path):
    path = tmp_path / "galfit.feedme"
    path.write_text("A) gal.fits\nB) out.fits\n0) sersic\n1) 10 10 1 1\n")
    assert not is_galfitm_feedme(path)
    assert not is_galfitm_feedme(tmp_path / "missing.feedme")


def test_cli_dispatches_galfitm_feedmes(folder, capsys):
    from galfitax.cli import main

    path = write(folder, psf="none", option=2)
    assert main(["fit", str(path)]) == 0
    assert (folder / "out.fits").exists() and (folder / "out.ecsv").exists()
    assert "out.fits" in capsys.readouterr().out
