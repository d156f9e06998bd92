"""Figures of a fit (needs the optional matplotlib): image panels and 1-D profiles.

`plot_images` shows data, model and residual with one common stretch;
`plot_profile` the surface-brightness profile of the data and of each
component in elliptical annuli; `plot_fit` combines both for a
`galfitax.io.run.FitRun` (what ``galfitax fit --figure`` and ``galfitax
demo`` write).
"""

import numpy as np

from galfitax.exceptions import ConfigurationError

__all__ = ["elliptical_profile", "plot_fit", "plot_images", "plot_profile"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigurationError("figures need the optional matplotlib package: "
                                 "pip install 'galfitax[plot]'") from None
    return plt


def elliptical_profile(image, x_0, y_0, ellip=0.0, theta=0.0, *, mask=None, n_bins=20,
                       r_max=None):
    """Mean intensity in elliptical annuli (log-spaced semi-major-axis bins).

    Parameters
    ----------
    image : array_like
    x_0, y_0 : float
        Centre, 0-based pixels.
    ellip, theta : float
        Ellipticity ``1 - b/a`` and major-axis angle (radians CCW from +x).
    mask : array_like of bool, optional
        True = excluded.
    n_bins : int
    r_max : float, optional
        Outer semi-major axis (default: the image half-diagonal).

    Returns
    -------
    radius, mean : numpy.ndarray
        Mean semi-major axis and mean intensity of each non-empty annulus.

    Examples
    --------
    >>> import numpy as np
    >>> from galfitax.plotting import elliptical_profile
    >>> y, x = np.mgrid[0:41, 0:41]
    >>> r, mean = elliptical_profile(np.exp(-np.hypot(x - 20, y - 20) / 5.0), 20, 20, n_bins=5)
    >>> bool(np.all(np.diff(mean) < 0))
    True
    """
    image = np.asarray(image, dtype=float)
    y, x = np.indices(image.shape, dtype=float)
    dx, dy = x - x_0, y - y_0
    major = dx * np.cos(theta) + dy * np.sin(theta)
    minor = -dx * np.sin(theta) + dy * np.cos(theta)
    radius = np.hypot(major, minor / max(1.0 - ellip, 1e-3))
    good = np.isfinite(image) if mask is None else np.isfinite(image) & ~np.asarray(mask)
    r_max = r_max or 0.5 * np.hypot(*image.shape)
    edges = np.concatenate([[0.0], np.geomspace(1.0, r_max, n_bins)])
    index = np.digitize(radius[good], edges) - 1
    values, radii = image[good], radius[good]
    out_r, out_m = [], []
    for k in range(len(edges) - 1):
        sel = index == k
        if sel.any():
            out_r.append(radii[sel].mean())
            out_m.append(values[sel].mean())
    return np.array(out_r), np.array(out_m)


def plot_images(data, model_image, *, mask=None, axes=None, titles=("data", "model",
                                                                      "residual")):
    """Data, model and residual side by side with one common asinh stretch.

    Returns
    -------
    list of matplotlib.axes.Axes
    """
    plt = _pyplot()
    from astropy.visualization import AsinhStretch, ImageNormalize, PercentileInterval

    data = np.asarray(data, dtype=float)
    shown = np.where(mask, np.nan, data) if mask is not None else data
    residual = shown - model_image
    norm = ImageNormalize(shown[np.isfinite(shown)], interval=PercentileInterval(99.5),
                          stretch=AsinhStretch(0.05))
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, image, title in zip(axes, (shown, model_image, residual), titles):
        ax.imshow(image, origin="lower", norm=norm, cmap="gray_r", interpolation="nearest")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    return list(axes)


def plot_profile(data, component_images, geometry, *, names=None, mask=None, ax=None,
                 pixel_scale=None, zeropoint=None):
    """1-D profile of the data, the total model and each component in elliptical annuli.

    ``geometry`` is ``(x_0, y_0, ellip, theta)`` of the annuli (0-based,
    astropy convention). With ``zeropoint`` and ``pixel_scale`` the y axis is
    surface brightness in mag/arcsec^2, else intensity per pixel.
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    scale = pixel_scale or 1.0

    def show(image, label, **style):
        r, mean = elliptical_profile(image, *geometry, mask=mask)
        keep = mean > 0
        if zeropoint is not None and pixel_scale:
            y = zeropoint - 2.5 * np.log10(mean[keep] / scale**2)
        else:
            y = mean[keep]
        ax.plot(r[keep] * scale, y, label=label, **style)

    show(data, "data", color="k", marker="o", ls="none", ms=4)
    total = np.sum(component_images, axis=0)
    if len(component_images) > 1:
        show(total, "model", color="C3", lw=2)
    for k, image in enumerate(component_images):
        label = names[k] if names else f"component {k + 1}"
        if np.any(np.asarray(image) > 0):
            show(image, f"{k + 1}: {label}", ls="--")
    ax.set_xscale("log")
    if zeropoint is not None and pixel_scale:
        ax.invert_yaxis()
        ax.set_ylabel("surface brightness [mag / arcsec$^2$]")
        ax.set_xlabel("semi-major axis [arcsec]")
    else:
        ax.set_yscale("log")
        ax.set_ylabel("mean intensity per pixel")
        ax.set_xlabel("semi-major axis [pixels]")
    ax.legend(fontsize="small")
    return ax


def _profile_geometry(run):
    from galfitax.io.feedme import model_components

    origin_x, origin_y = run.inputs.x[0, 0], run.inputs.y[0, 0]
    for leaf in model_components(run.fitted):
        names = leaf.param_names
        if "x_0" in names and type(leaf).__name__ != "TiltedSky":
            return (float(leaf.x_0.value) - origin_x, float(leaf.y_0.value) - origin_y,
                    float(leaf.ellip.value) if "ellip" in names else 0.0,
                    float(leaf.theta.value) if "theta" in names else 0.0)
    ny, nx = run.inputs.shape
    return ((nx - 1) / 2.0, (ny - 1) / 2.0, 0.0, 0.0)


def plot_fit(run, *, path=None, overwrite=False):
    """Data / model / residual panels and the 1-D profile of a `~galfitax.io.run.FitRun`.

    Parameters
    ----------
    run : galfitax.io.run.FitRun
    path : str or path-like, optional
        Write the figure there (PNG, atomically) and return the path;
        otherwise return the `~matplotlib.figure.Figure`.
    overwrite : bool
    """
    plt = _pyplot()
    inputs = run.inputs
    model_image = run.model_image()
    components = [run.component_image(k) for k in range(len(run.names))]
    fig = plt.figure(figsize=(15, 4.2))
    grid = fig.add_gridspec(1, 4, width_ratios=(1, 1, 1, 1.3))
    image_axes = [fig.add_subplot(grid[0, k]) for k in range(3)]
    plot_images(inputs.data, model_image, mask=inputs.mask, axes=image_axes)
    setup = run.setup
    pixel_scale = float(setup.plate_scale[0]) if setup is not None else None
    zeropoint = run.photometry.zeropoint if run.photometry.zeropoint else None
    plot_profile(np.where(inputs.mask, np.nan, inputs.data), components, _profile_geometry(run),
                 names=run.names, mask=inputs.mask, ax=fig.add_subplot(grid[0, 3]),
                 pixel_scale=pixel_scale if zeropoint else None, zeropoint=zeropoint)
    chi2_nu = run.fit_info.get("chi2_nu")
    title = "galfitax fit" + (f"  (chi2_nu = {float(chi2_nu):.3f})" if chi2_nu else "")
    fig.suptitle(title)
    fig.tight_layout()
    if path is None:
        return fig
    from galfitax.io.files import atomic_write

    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"),
                            overwrite=overwrite, suffix=".png")
    finally:
        plt.close(fig)
