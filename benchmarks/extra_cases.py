"""Cases the shared bench families lack, made with the bench's own recipe (``make_cases.py``).

* `sersic_case`: a family-a style single Sersic (any size, e.g. 512 px), or
  ``ncomp`` separated Sersics (the 2048 x 2048 five-component memory case),
  written as a complete case folder (data, sigma, PSF, mask, truth.json,
  galfit.feedme, config.dat);
* `stamp_batch`: N independent 64 x 64 single-Sersic stamps sharing one PSF
  (a batch fit needs one model structure, and the PSF is part of it), cached
  as an ``.npz`` file.

Truth images are ``make_cases.convolved_unit_image`` (accurate pixel
integration, zero-padded FFT convolution with the same PSF array), noise
``make_cases.add_noise``, starting guesses ``make_cases.perturb``: exactly
the conventions of the shared families.
"""

import json
import math
import os

import numpy as np

from _shared import mc

__all__ = ["sersic_case", "stamp_batch"]

_SEED = 20261122


def _random_sersic(rng, size, x, y):
    return {"type": "sersic", "x": x, "y": y,
            "r_e": mc.loguniform(rng, max(1.5, size / 40.0), min(size / 10.0, 40.0)),
            "n": float(rng.choice(mc.N_A)), "q": float(rng.uniform(0.25, 0.95)),
            "pa": mc.wrap_pa(float(rng.uniform(-90, 90)))}


def sersic_case(out, size, *, ncomp=1, snr=200.0, index=0):
    """Folder of a ``size`` x ``size`` case with ``ncomp`` Sersics (made once, then reused)."""
    case_id = f"x{index:03d}_{ncomp}sersic_{size}px"
    folder = os.path.join(out, case_id)
    if os.path.isfile(os.path.join(folder, "truth.json")):
        return folder
    prng, nrng = mc._rngs(_SEED, "x", index)
    psf32, psf64, psf_info = mc._psf_for(prng)
    shape = (size, size)
    comps = []
    for k in range(ncomp):
        angle = 2.0 * math.pi * k / max(ncomp, 1)
        radius = 0.0 if ncomp == 1 else size / 4.0
        x = (size + 1) / 2.0 + radius * math.cos(angle) + float(prng.uniform(-3, 3))
        y = (size + 1) / 2.0 + radius * math.sin(angle) + float(prng.uniform(-3, 3))
        comps.append(_random_sersic(prng, size if ncomp == 1 else 512, x, y))
    model = np.zeros(shape)
    for c in comps:
        unit = mc.convolved_unit_image(shape, c, psf64)
        c["flux"] = mc.flux_for_snr(unit, snr)
        mc._add_mags_and_Ie(c)
        model += c["flux"] * unit
    data, sigma = mc.add_noise(model, nrng)
    mask = np.zeros(shape, dtype=np.int16)
    fit = [{"init": mc.perturb(c, prng)} for c in comps]
    mc.write_case(folder, case_id, "x", data, sigma, psf32, mask, comps, fit, psf_info,
                  {"definition": mc.SNR_DEF, "target_per_component": [snr] * ncomp})
    return folder


def stamp_batch(out, count, size=64):
    """``(psf, problems)`` of ``count`` 64 x 64 stamps (run_peers problem dicts), cached."""
    path = os.path.join(out, f"stamps_{count}x{size}.npz")
    if not os.path.isfile(path):
        prng, _ = mc._rngs(_SEED, "s", 0)
        psf32, psf64, _ = mc._psf_for(prng, fwhm=3.0)
        data, sigma, inits = [], [], []
        for k in range(count):
            rng, nrng = mc._rngs(_SEED, "s", k + 1)
            c = _random_sersic(rng, size, (size + 1) / 2.0 + float(rng.uniform(-3, 3)),
                               (size + 1) / 2.0 + float(rng.uniform(-3, 3)))
            unit = mc.convolved_unit_image((size, size), c, psf64)
            c["flux"] = mc.flux_for_snr(unit, float(mc.loguniform(rng, 50.0, 500.0)))
            mc._add_mags_and_Ie(c)
            d, s = mc.add_noise(c["flux"] * unit, nrng)
            data.append(d)
            sigma.append(s)
            inits.append(json.dumps({"truth": c, "init": mc.perturb(c, rng)}))
        np.savez(path, psf=psf32.astype(float), data=np.array(data), sigma=np.array(sigma),
                 inits=np.array(inits))
    stored = np.load(path)
    problems = []
    for d, s, text in zip(stored["data"], stored["sigma"], stored["inits"]):
        info = json.loads(str(text))
        problems.append({"name": "stamp", "data": d, "sigma": s,
                         "mask": np.zeros(d.shape, dtype=np.int16), "xoff": 0, "yoff": 0,
                         "fit": [{"init": info["init"], "fixed": [], "tie_center_to": None}],
                         "truth": [info["truth"]], "config_file": None})
    return stored["psf"], problems
