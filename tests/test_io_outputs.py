"""Output writers: imgblock, ECSV table, DS9 regions, figures, atomic writes."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.modeling.fitting import StandardDeviations
from astropy.table import Table

from galfitax import FlatSky, Sersic2D
from galfitax.exceptions import InputFileError
from galfitax.io.conventions import Photometry
from galfitax.io.files import atomic_write_text
from galfitax.io.imgblock import (
    imgblock_header,
    read_imgblock_header,
    write_imgblock,
    write_subcomponents,
)
from galfitax.io.regions import component_regions, write_regions
from galfitax.io.tables import results_table, write_results_table

PHOT = Photometry(25.0, (0.1, 0.1))


@pytest.fixture()
def fitted():
    model = Sersic2D(flux=1000.0, r_eff=4.0, n=2.0, x_0=20.0, y_0=21.5, ellip=0.4,
                     theta=np.radians(120.0)) + FlatSky(0.5)
    model.n_0.fixed = True
    model.c0_0.fixed = True
    free = [n for n in model.param_names if not model.fixed[n]]
    cov = np.diag([(0.01 * (i + 1)) ** 2 for i in range(len(free))])
    model.stds = StandardDeviations(cov, free)
    return model


def test_header_in_galfit_format(fitted):
    info = dict(chi2=1234.5, dof=1000, chi2_nu=1.2345, n_iter=7, nfev=9, converged=True,
                n_free=7)
    header = imgblock_header(fitted, PHOT, fit_info=info, region=(1, 40, 1, 44))
    assert header["COMP_1"] == "sersic" and header["COMP_2"] == "sky"
    assert header["1_XC"] == "21.0000 +/- 0.0300"
    assert header["1_YC"] == "22.5000 +/- 0.0400"
    assert header["1_MAG"] == f"17.5000 +/- {2.5 / np.log(10) * 0.01 / 1000.0:.4f}"
    assert header["1_N"] == "[2.0000]"
    assert header["1_AR"] == "0.6000 +/- 0.0500"
    assert header["1_PA"] == f"30.0000 +/- {np.degrees(0.06):.4f}"
    assert "1_C0" not in header
    assert header["2_SKY"] == "0.5000 +/- 0.0700"
    assert header["CHI2NU"] == 1.2345 and header["NDOF"] == 1000 and header["MAGZPT"] == 25.0
    assert header["FITSECT"] == "[1:40,1:44]"
    assert header["NFREE"] == 7 and header["NFIX"] == 2 and header["CHI2"] == 1234.5
    parsed = read_imgblock_header(header)
    assert parsed[0]["MAG"][0] == 17.5 and parsed[0]["N"] == (2.0, None, True)


def test_imgblock_layout_and_safety(tmp_path, fitted):
    data = np.arange(12.0).reshape(3, 4)
    path = write_imgblock(tmp_path / "block.fits", data, np.ones((3, 4)),
                          header=imgblock_header(fitted, PHOT),
                          data_header=fits.Header({"EXPTIME": 3.0}))
    with fits.open(path) as hdul:
        assert len(hdul) == 4 and hdul[0].data is None
        np.testing.assert_allclose(hdul[3].data, data - 1.0)
        assert hdul[1].header["EXPTIME"] == 3.0 and hdul[2].header["COMP_1"] == "sersic"
    with pytest.raises(InputFileError, match="exists"):
        write_imgblock(path, data, data)
    write_imgblock(path, data, data, overwrite=True)
    source = tmp_path / "input.fits"
    fits.writeto(source, data)
    with pytest.raises(InputFileError, match="input file"):
        write_imgblock(source, data, data, overwrite=True, protected=[source])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["block.fits", "input.fits"]


def test_subcomponents(tmp_path):
    path = write_subcomponents(tmp_path / "sub.fits", np.zeros((2, 2)),
                               [np.ones((2, 2)), np.full((2, 2), 2.0)], ["sersic", "sky"])
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "COMP_1", "COMP_2"]
        assert hdul[2].header["OBJECT"] == "sky" and hdul[2].data[0, 0] == 2.0


def test_atomic_write_failure_leaves_nothing(tmp_path):
    def broken(tmp):
        raise RuntimeError("disk full")

    from galfitax.io.files import atomic_write

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "x.txt", broken)
    assert list(tmp_path.iterdir()) == []
    atomic_write_text(tmp_path / "x.txt", "a")
    with pytest.raises(InputFileError, match="folder does not exist"):
        atomic_write_text(tmp_path / "no" / "x.txt", "a")


def test_results_table_ecsv(tmp_path, fitted):
    table = results_table(fitted, PHOT, fit_info={"chi2_nu": 1.1, "converged": True})
    path = write_results_table(table, tmp_path / "fit.ecsv")
    again = Table.read(path, format="ascii.ecsv")
    assert list(again["component"]) == [1, 2]
    assert list(again["type"]) == ["sersic", "sky"]
    assert again["x"][0] == pytest.approx(21.0) and again["p_x_0"][0] == pytest.approx(20.0)
    assert again["q"][0] == pytest.approx(0.6) and again["pa"][0] == pytest.approx(30.0)
    assert again["mag_err"][0] == pytest.approx(2.5 / np.log(10) * 1e-5, rel=1e-3)
    assert np.isnan(again["mag"][1]) and again["sky"][1] == 0.5
    assert np.isnan(again["p_n_err"][0])  # fixed
    assert again.meta["chi2_nu"] == 1.1 and again.meta["zeropoint"] == 25.0


def test_regions(tmp_path, fitted):
    regs = component_regions(fitted)
    assert len(regs) == 1  # the sky has no region
    ellipse = regs[0]
    assert (ellipse.center.x, ellipse.center.y) == (20.0, 21.5)
    assert ellipse.width == pytest.approx(8.0) and ellipse.height == pytest.approx(4.8)
    assert ellipse.angle.value == pytest.approx(120.0)
    text = write_regions(fitted, tmp_path / "fit.reg").read_text()
    assert "ellipse(21" in text and "text={1: sersic}" in text  # DS9 is 1-based


def test_profile_and_figure(tmp_path):
    pytest.importorskip("matplotlib")
    from galfitax.plotting import elliptical_profile, plot_images, plot_profile

    y, x = np.mgrid[0:40, 0:40]
    image = np.exp(-np.hypot((x - 20) / 1.0, (y - 19) / 0.5) / 4.0)
    r, mean = elliptical_profile(image, 20, 19, ellip=0.5, theta=0.0, n_bins=8)
    # along the major axis the profile is exp(-r/4): annulus means follow it
    np.testing.assert_allclose(mean[2:5], np.exp(-r[2:5] / 4.0), rtol=0.05)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4)
    plot_images(image, image * 0.9, axes=axes[:3])
    plot_profile(image, [image * 0.9, image * 0.1], (20, 19, 0.5, 0.0), ax=axes[3])
    fig.savefig(tmp_path / "f.png")
    plt.close(fig)
    assert (tmp_path / "f.png").stat().st_size > 1000
