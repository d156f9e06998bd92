"""GALFIT <-> galfitax parameter conventions (galfitax.io.conventions)."""

import numpy as np
import pytest

from galfitax import Sersic2D
from galfitax.io.conventions import (
    COMPONENTS,
    Photometry,
    galfit_errors,
    galfit_to_model,
    intensity_to_sb,
    mag_to_flux,
    model_to_galfit,
    pa_to_theta,
    sb_to_intensity,
    theta_to_pa,
    wrap_pa,
)

PHOT = Photometry(zeropoint=26.5, plate_scale=(0.05, 0.04), exptime=300.0)

VALUES = {
    "sersic": dict(x=40.5, y=31.25, mag=18.2, re=7.5, n=2.7, q=0.55, pa=33.0, c0=0.3),
    "devauc": dict(x=10.0, y=12.0, mag=19.0, re=4.0, q=0.8, pa=-45.0, c0=0.0),
    "expdisk": dict(x=10.0, y=12.0, mag=17.0, rs=6.0, q=0.3, pa=80.0, c0=-0.5),
    "gaussian": dict(x=3.0, y=4.0, mag=21.0, fwhm=2.5, q=0.9, pa=10.0, c0=0.0),
    "moffat": dict(x=3.0, y=4.0, mag=21.0, fwhm=2.5, powerlaw=2.8, q=0.9, pa=10.0, c0=0.0),
    "nuker": dict(x=30.0, y=30.0, mu=17.0, rb=8.0, alpha=1.5, beta=2.5, gamma=0.4, q=0.7,
                  pa=5.0, c0=0.0),
    "king": dict(x=30.0, y=30.0, mu=18.0, rc=5.0, rt=40.0, alpha=2.0, q=0.9, pa=0.0, c0=0.0),
    "ferrer": dict(x=30.0, y=30.0, mu=19.0, rout=20.0, alpha=2.0, beta=0.5, q=0.4, pa=60.0,
                   c0=0.0),
    "edgedisk": dict(x=30.0, y=30.0, mu=18.5, hs=3.0, rs=12.0, pa=20.0),
    "psf": dict(x=15.0, y=16.0, mag=20.0),
    "sky": dict(sky=1.5, dsdx=0.01, dsdy=-0.02),
}


def test_every_component_has_values():
    assert set(VALUES) == set(COMPONENTS)
    for name, values in VALUES.items():
        assert set(values) == set(COMPONENTS[name].keys)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_round_trip(name):
    cls, params = galfit_to_model(name, VALUES[name], PHOT, sky_reference=(20.0, 21.0))
    model = cls(**params)
    back_name, back = model_to_galfit(model, PHOT)
    assert back_name == name
    for key, value in VALUES[name].items():
        assert back[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def test_geometry_conventions():
    cls, p = galfit_to_model("sersic", VALUES["sersic"], PHOT)
    assert p["x_0"] == 39.5 and p["y_0"] == 30.25
    assert p["ellip"] == pytest.approx(0.45)
    assert p["theta"] == pytest.approx(np.radians(123.0))
    assert p["c0"] == 0.3
    # PA 0 points the major axis up (+y): the model is elongated along y
    model = cls(**dict(p, theta=float(pa_to_theta(0.0)), c0=0.0, x_0=20.0, y_0=20.0))
    assert model(20.0, 26.0) > model(26.0, 20.0)


def test_angles_and_magnitudes():
    assert float(theta_to_pa(pa_to_theta(170.0))) == pytest.approx(170.0)
    assert float(wrap_pa(-100.0)) == pytest.approx(80.0)
    assert float(wrap_pa(90.0)) == pytest.approx(90.0)
    flux = mag_to_flux(20.0, 26.5, 300.0)
    assert float(flux) == pytest.approx(300.0 * 10 ** (0.4 * 6.5))
    intensity = sb_to_intensity(21.0, PHOT)
    assert float(intensity_to_sb(intensity, PHOT)) == pytest.approx(21.0)
    # mu = zp - 2.5 log10(I / (exptime * dx * dy))
    assert float(intensity) == pytest.approx(300.0 * 0.05 * 0.04 * 10 ** (-0.4 * (21.0 - 26.5)))


def test_sersic_flux_matches_image_sum():
    cls, p = galfit_to_model("sersic", dict(x=64.0, y=64.0, mag=20.0, re=4.0, n=1.0, q=0.7,
                                            pa=20.0), Photometry(25.0))
    y, x = np.mgrid[0:128, 0:128]
    assert cls(**p)(x, y).sum() == pytest.approx(100.0, rel=1e-4)


@pytest.mark.parametrize("name, probe", [("king", (0.0, 0.0)), ("ferrer", (0.0, 0.0)),
                                         ("edgedisk", (0.0, 0.0)), ("nuker", (30.0, 0.0))])
def test_surface_brightness_parameters(name, probe):
    # broad, smooth profiles: a pixel integral at the probe point is the surface
    # brightness GALFIT's mu describes (mu(0) centrally; mu(r_b) for Nuker)
    values = {"king": dict(x=101.0, y=101.0, mu=18.0, rc=40.0, rt=400.0, alpha=2.0, q=1.0,
                           pa=0.0),
              "ferrer": dict(x=101.0, y=101.0, mu=18.0, rout=300.0, alpha=2.0, beta=0.5, q=1.0,
                             pa=0.0),
              "edgedisk": dict(x=101.0, y=101.0, mu=18.0, hs=40.0, rs=60.0, pa=0.0),
              "nuker": dict(x=101.0, y=101.0, mu=18.0, rb=30.0, alpha=2.0, beta=3.0,
                            gamma=0.3, q=1.0, pa=90.0)}[name]
    phot = Photometry(25.0, (0.1, 0.1))
    cls, p = galfit_to_model(name, values, phot)
    model = cls(**p)
    y, x = np.mgrid[0:3, 0:3]
    pixel = model(x + 99.0 + probe[0], y + 99.0 + probe[1])[1, 1]
    assert pixel == pytest.approx(float(sb_to_intensity(18.0, phot)), rel=2e-3)


def test_errors_propagate():
    model = Sersic2D(flux=1000.0, r_eff=5.0, n=2.0, ellip=0.4, theta=0.3)
    stds = {"flux": 10.0, "ellip": 0.01, "theta": 0.02, "r_eff": 0.1}
    errors = galfit_errors(model, Photometry(25.0), stds)
    assert errors["mag"] == pytest.approx(2.5 / np.log(10) * 0.01, rel=1e-4)
    assert errors["q"] == pytest.approx(0.01, rel=1e-4)
    assert errors["pa"] == pytest.approx(np.degrees(0.02), rel=1e-4)
    assert errors["re"] == pytest.approx(0.1, rel=1e-4)
    assert errors["n"] == 0.0
    assert np.isnan(galfit_errors(model, Photometry(25.0), None)["mag"])
