"""MultiBandModel: the affine map, starting coefficients, covariance propagation, bad input."""

import numpy as np
import pytest
from numpy.polynomial import chebyshev

from galfitax import FlatSky, PSFConvolvedModel, Sersic2D
from galfitax.exceptions import ConfigurationError, InvalidModelError, InvalidParameterError
from galfitax.multiband import Band, MultiBandFitter, MultiBandModel

WAVELENGTHS = [4000.0, 5500.0, 7000.0, 9000.0]


def template():
    return Sersic2D(flux=1000.0, r_eff=5.0, n=2.0, x_0=20.0, y_0=21.0, ellip=0.3, theta=0.7)


def test_default_freedoms_follow_galfitm():
    mb = MultiBandModel(template() + FlatSky(1.0), WAVELENGTHS, band_names="griz")
    assert mb.freedom == {"flux_0": 4, "r_eff_0": 2, "n_0": 2, "x_0_0": 1, "y_0_0": 1,
                          "ellip_0": 1, "theta_0": 1, "c0_0": 0, "amplitude_1": 4}
    assert mb.coeff_names[:4] == ("flux_0_g", "flux_0_r", "flux_0_i", "flux_0_z")
    assert mb.coeff_names[-4:] == ("amplitude_1_g", "amplitude_1_r", "amplitude_1_i",
                                   "amplitude_1_z")


def test_affine_map_is_chebyshev_in_normalized_wavelength():
    mb = MultiBandModel(template(), WAVELENGTHS, freedom={"r_eff": 3, "n": "constant"})
    coeffs = np.arange(1.0, len(mb.coeff_names) + 1)
    values = mb.band_parameters(coeffs)
    w = 2 * (np.array(WAVELENGTHS) - 4000.0) / 5000.0 - 1
    names = mb.coeff_names
    r_coeffs = [coeffs[names.index(f"r_eff_c{k}")] for k in range(3)]
    assert np.allclose(values[:, 1], chebyshev.chebval(w, r_coeffs), rtol=1e-14)
    assert np.all(values[:, 2] == coeffs[names.index("n")])
    flux = [coeffs[names.index(f"flux_band{k}")] for k in range(4)]
    assert np.all(values[:, 0] == flux)
    assert np.all(values[:, 7] == 0.0)  # c0 fixed at the template value
    # the map is exactly linear: A @ theta + c
    matrix, offset = mb.band_matrix(2)
    assert np.allclose(matrix @ coeffs + offset, values[2])


def test_starting_coefficients_are_least_squares_of_band_values():
    r_eff = [4.0, 4.5, 5.5, 6.0]
    mb = MultiBandModel(template(), WAVELENGTHS, values={"r_eff": r_eff, "n": 3.0})
    w = mb.normalized
    expected = np.polynomial.polynomial.polyfit(w, r_eff, 1)  # same line, another basis
    fitted = mb.band_parameters()[:, 1]
    assert np.allclose(fitted, np.polynomial.polynomial.polyval(w, expected), rtol=1e-12)
    assert np.allclose(mb.band_parameters()[:, 2], 3.0)


def test_fixed_values_per_band_and_template_ties():
    model = template() + template()
    model.x_0_1.tied = lambda m: m.x_0_0 + 1.5
    model.n_1.fixed = True
    mb = MultiBandModel(model, WAVELENGTHS, values={"n_1": [1.0, 1.1, 1.2, 1.3]})
    values = mb.band_parameters(mb.coefficients + 0.25)
    names = mb.param_names
    assert np.allclose(values[:, names.index("x_0_1")], values[:, names.index("x_0_0")] + 1.5)
    assert np.allclose(values[:, names.index("n_1")], [1.0, 1.1, 1.2, 1.3])
    assert "x_0_1" not in mb.coeff_names and "n_1" not in " ".join(mb.coeff_names)


def test_position_offsets_shift_all_centres_but_the_first_band():
    model = template() + Sersic2D(flux=10.0, r_eff=2.0, n=1.0, x_0=25.0, y_0=25.0) + FlatSky()
    mb = MultiBandModel(model, WAVELENGTHS[:3], band_names="gri", position_offsets=True)
    assert mb.coeff_names[-4:] == ("dx_r", "dy_r", "dx_i", "dy_i")
    coeffs = mb.coefficients.copy()
    coeffs[mb.coeff_names.index("dx_i")] = 0.5
    coeffs[mb.coeff_names.index("dy_r")] = -0.25
    shift = mb.band_parameters(coeffs) - mb.band_parameters()
    names = mb.param_names
    for name in ("x_0_0", "x_0_1"):
        assert np.allclose(shift[:, names.index(name)], [0.0, 0.0, 0.5])
    for name in ("y_0_0", "y_0_1"):
        assert np.allclose(shift[:, names.index(name)], [0.0, -0.25, 0.0])
    others = [i for i, n in enumerate(names) if not n.startswith(("x_0", "y_0"))]
    assert np.all(shift[:, others] == 0.0)


def test_covariance_propagation_matches_numerical_jacobian():
    mb = MultiBandModel(template(), WAVELENGTHS, freedom={"r_eff": 3}, position_offsets=True)
    rng = np.random.default_rng(3)
    n = len(mb.coeff_names)
    root = rng.normal(size=(n, n))
    cov = root @ root.T / n
    step = 1e-3
    for b in range(mb.n_bands):
        jac = np.empty((len(mb.param_names), n))
        for k in range(n):
            delta = np.zeros(n)
            delta[k] = step
            jac[:, k] = (mb.band_parameters(mb.coefficients + delta)[b]
                         - mb.band_parameters(mb.coefficients - delta)[b]) / (2 * step)
        assert np.allclose(mb.band_covariances(cov)[b], jac @ cov @ jac.T, rtol=1e-8,
                           atol=1e-10)
    # and by sampling: the per-band scatter of sampled coefficient vectors
    samples = rng.multivariate_normal(mb.coefficients, cov, size=20000)
    per_band = np.array([mb.band_parameters(s) for s in samples])
    empirical = np.std(per_band[:, 2, 1])
    assert empirical == pytest.approx(np.sqrt(mb.band_covariances(cov)[2, 1, 1]), rel=0.03)


def test_band_models_and_tables_carry_propagated_errors():
    mb = MultiBandModel(template(), WAVELENGTHS[:2], band_names=["b", "r"])
    mb.cov_matrix = np.diag(np.arange(1.0, len(mb.coeff_names) + 1) ** 2 * 1e-4)
    models = mb.band_models()
    assert [m.name for m in models] == ["b", "r"]
    stds = dict(zip(models[1].stds.param_names, models[1].stds.stds))
    assert "c0" not in stds and models[1].fixed["c0"]
    expected = np.sqrt(np.diagonal(mb.band_covariances()[1]))
    assert stds["r_eff"] == pytest.approx(expected[1])
    table = mb.band_table()
    assert list(table["band"]) == ["b", "r"]
    assert table["r_eff_std"][1] == pytest.approx(expected[1])
    coeffs = mb.coefficient_table()
    assert list(coeffs["name"]) == list(mb.coeff_names)
    assert np.allclose(coeffs["std"], np.sqrt(np.diagonal(mb.cov_matrix)))


# ---------------------------------------------------------------------- error gallery
def _band(shape=(16, 16), wavelength=5000.0, **kwargs):
    return Band(np.zeros(shape), wavelength, sigma=np.ones(shape), **kwargs)


@pytest.mark.parametrize("bands, match", [
    ([_band(name="a"), _band((16, 17), 6000.0, name="b")], "same image shape"),
    ([_band(name="a", wavelength=6000.0), _band(name="b", wavelength=5000.0)],
     "strictly increasing"),
    ([_band(name="a"), _band(name="b")], "strictly increasing"),
    ([_band(name="a", psf=np.ones((3, 3))), _band(name="b", wavelength=6000.0)],
     r"bands \['b'\] have no PSF"),
    ([_band(name="a"), _band(name="a", wavelength=6000.0)], "unique"),
    ([], "at least one band"),
])
def test_bad_band_sets(bands, match):
    with pytest.raises(ConfigurationError, match=match):
        MultiBandModel(template(), bands=bands)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(freedom={"size": 2}), ConfigurationError, "no parameter"),
    (dict(freedom={"c0": 1}), ConfigurationError, "fixed in the template"),
    (dict(freedom={"n": 5}), ConfigurationError, "between 0 and the number of bands"),
    (dict(freedom={"n": "linear"}), ConfigurationError, "must be an integer or one of"),
    (dict(values={"n": [1.0, 2.0]}), ConfigurationError, "one per band"),
    (dict(values={"n": 20.0}), InvalidParameterError, "outside its valid range"),
    (dict(freedom={"x_0": "band"}, position_offsets=True), ConfigurationError, "degenerate"),
])
def test_bad_model_specifications(kwargs, error, match):
    with pytest.raises(error, match=match):
        MultiBandModel(template(), [5000.0, 6000.0, 7000.0], **kwargs)


def test_bad_constructor_calls():
    with pytest.raises(ConfigurationError, match="either wavelengths or bands"):
        MultiBandModel(template())
    with pytest.raises(InvalidModelError, match="without PSF"):
        MultiBandModel(PSFConvolvedModel(template(), np.ones((3, 3)) / 9.0), [1.0, 2.0])
    with pytest.raises(ConfigurationError, match="unique labels"):
        MultiBandModel(template(), [1.0, 2.0], band_names=["a", "a"])
    with pytest.raises(InvalidModelError, match="astropy model"):
        MultiBandModel("sersic", [1.0, 2.0])


def test_bad_band_arguments():
    with pytest.raises(ConfigurationError, match="wavelength must be a number"):
        Band(np.zeros((4, 4)), "red")
    with pytest.raises(Exception, match="sigma has shape"):
        Band(np.zeros((4, 4)), 1.0, sigma=np.ones((4, 5)))
    with pytest.raises(Exception, match="2-D"):
        Band(np.zeros(4), 1.0)


def test_fitter_checks_bands_against_the_model():
    mb = MultiBandModel(template(), [5000.0, 6000.0])
    fitter = MultiBandFitter()
    with pytest.raises(ConfigurationError, match="2 bands, got 1"):
        fitter(mb, [_band(name="x")])
    with pytest.raises(ConfigurationError, match="expects 6000.0"):
        fitter(mb, [_band(name="x"), _band(name="y", wavelength=6500.0)])
    with pytest.raises(InvalidModelError, match="MultiBandModel"):
        fitter(template(), [_band()])


def test_least_squares_start_respects_parameter_ranges():
    # round-off of the least-squares start must not put ellip = 0 at -1e-16
    mb = MultiBandModel(Sersic2D(ellip=0.0), [1.0, 2.0, 3.0, 4.0, 5.0],
                        values={"ellip": [0.0] * 5})
    assert np.all(mb.band_parameters()[:, 5] >= 0.0)
