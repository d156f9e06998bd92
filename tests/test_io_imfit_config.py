"""imfit configuration files (galfitax.io.imfit_config)."""

from pathlib import Path

import numpy as np
import pytest

from galfitax import Sersic2D
from galfitax.exceptions import InputFileError
from galfitax.io import read_imfit_config, write_imfit_config

DATA = Path(__file__).parent / "data"


def test_imfit_example_config():
    config = read_imfit_config(DATA / "imfit_config_n3073.dat")
    assert config.options == {"GAIN": 4.725, "READNOISE": 4.3, "ORIGINAL_SKY": 154.33}
    assert [f.name for f in config.functions] == ["Sersic", "Exponential"]
    model = config.build_model()
    assert (model.x_0_0.value, model.y_0_0.value) == (100.0, 96.0)
    assert model.bounds["x_0_0"] == (89.0, 109.0)
    assert model.theta_0.value == pytest.approx(np.radians(200.0))
    assert model.bounds["theta_0"] == pytest.approx((np.radians(90.0), np.radians(270.0)))
    expected = Sersic2D.flux_from_amplitude(150.0, 15.0, 1.5, 0.2)
    assert model.flux_0.value == pytest.approx(expected)
    assert model.bounds["flux_0"][1] == pytest.approx(expected * 500.0 / 150.0)
    assert model.flux_1.value == pytest.approx(2 * np.pi * 0.8 * 45.0**2 * 70.0)
    model.x_0_0 = 42.0
    assert model.tied["x_0_1"](model) == 42.0  # one X0/Y0 block: shared centre


@pytest.mark.parametrize("function, params, expected_kind", [
    ("Gaussian", "PA 10 fixed\nell 0.0\nI_0 5.0\nsigma 30.0\n", "gaussian"),
    ("Moffat", "PA 10\nell 0.0\nI_0 5.0\nfwhm 60.0\nbeta 2.5\n", "moffat"),
    ("Exponential", "PA 10\nell 0.0\nI_0 5.0\nh 40.0\n", "exponential"),
    ("ModifiedKing", "PA 10\nell 0.0\nI_0 5.0\nr_c 40.0\nr_t 400\nalpha 2\n", "king"),
])
def test_central_intensity(tmp_path, function, params, expected_kind):
    # broad profiles: the central pixel integral equals imfit's central intensity I_0
    # (for the exponential's cusp: 1 - <r>/h + <r^2>/(2 h^2), <r> = 0.382598 over a pixel)
    path = tmp_path / "c.dat"
    path.write_text(f"X0 101 \nY0 101\nFUNCTION {function}\n{params}")
    model = read_imfit_config(path).build_model()
    assert model._kind == expected_kind
    y, x = np.mgrid[99:102, 99:102]
    factor = 1.0 - 0.382598 / 40.0 + 1.0 / (12.0 * 40.0**2) if function == "Exponential" else 1.0
    assert model(x, y)[1, 1] == pytest.approx(5.0 * factor, rel=2e-4)


def test_write_read_round_trip(tmp_path):
    config = read_imfit_config(DATA / "imfit_config_sersic+exponential_ic3478_256.dat")
    path = write_imfit_config(config, tmp_path / "copy.dat")
    assert read_imfit_config(path) == config
    model = config.build_model()
    again = read_imfit_config(write_imfit_config(model, tmp_path / "model.dat", gain=4.7))
    rebuilt = again.build_model()
    assert again.options == {"GAIN": 4.7}
    assert len(again.functions) == 2 and again.functions[1].group == again.functions[0].group
    np.testing.assert_allclose(rebuilt.parameters, model.parameters, rtol=1e-10)
    for name in model.param_names:
        assert rebuilt.bounds[name] == pytest.approx(model.bounds[name], rel=1e-9), name
        assert rebuilt.fixed[name] == model.fixed[name]
    with pytest.raises(InputFileError, match="exists"):
        write_imfit_config(model, tmp_path / "model.dat")


@pytest.mark.parametrize("text, line, message", [
    ("X0 1\nY0 1\nFUNCTION Bulge\n", 3, "unknown or unsupported imfit function 'Bulge'"),
    ("X0 1\nY0 1\nFUNCTION Sersic\nPA 0\nell 0\nn 2\nI_e 1\nr_e 1 5,2\n", 8, "lower limit"),
    ("X0 1\nY0 1\nFUNCTION Sersic\nPA 0\nell 0\nn 2 3,4\n", 6, "outside its limits"),
    ("X0 1\nY0 1\nFUNCTION Sersic\nPA 0\nell 0\nr_x 2\n", 6, "has no parameter 'r_x'"),
    ("X0 1\nY0 1\nFUNCTION Sersic\nPA 0\nell 0\n", 3, "lacks parameter"),
    ("FUNCTION Sersic\n", 1, "FUNCTION before X0"),
    ("GAIN 4\nX0 1\nY0 1\nFUNCTION FlatSky\nI_sky 1 fixd\n", 5, "bad limits"),
])
def test_errors_name_the_line(tmp_path, text, line, message):
    path = tmp_path / "bad.dat"
    path.write_text(text)
    with pytest.raises(InputFileError, match=message) as info:
        read_imfit_config(path)
    assert info.value.line == line
