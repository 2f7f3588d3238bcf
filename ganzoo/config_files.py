"""Where the zoo configs are: the checkout's ``zoo_configs/``, or the copy a wheel installs.

A wheel installs the YAML files of ``zoo_configs/`` as data into
``<prefix>/share/ganzoo/zoo_configs`` (setup.cfg ``[options.data_files]``).
`zoo_config_dir` finds them, in the order of `zoo_config_dirs`: the
checkout's folder beside the ``ganzoo`` package (a source checkout or an
editable install), then that share folder under the installation prefixes
(the environment's, the user scheme's for ``pip install --user``, and those
above the installed package for ``pip install --prefix``). No Keras is
imported here.
"""

import os
import sys
import sysconfig

_CHECKOUT_ZOO_CONFIGS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "zoo_configs")
_SHARED_ZOO_CONFIGS = os.path.join("share", "ganzoo", "zoo_configs")  # setup.cfg [options.data_files]


def zoo_config_dirs():
    """The folders searched for zoo configs, in order.

    Returns:
        Folder paths (they need not exist): the checkout's ``zoo_configs/``,
        then ``share/ganzoo/zoo_configs`` under each installation prefix.
    """
    prefixes = [sysconfig.get_path("data"), sys.prefix]
    try:
        prefixes.append(sysconfig.get_path("data", sysconfig.get_preferred_scheme("user")))
    except (KeyError, ValueError):  # no user scheme on this platform
        pass
    # pip install --prefix P: the package is in P/lib/pythonX.Y/site-packages (P/Lib/... on Windows).
    site = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.basename(site) in ("site-packages", "dist-packages"):
        prefixes += [os.path.normpath(os.path.join(site, *[os.pardir] * up)) for up in (3, 2)]
    folders = [_CHECKOUT_ZOO_CONFIGS]
    for prefix in prefixes:
        folder = os.path.join(prefix, _SHARED_ZOO_CONFIGS)
        if prefix and folder not in folders:
            folders.append(folder)
    return folders


def zoo_config_dir():
    """The folder of the zoo configs.

    Returns:
        The first of `zoo_config_dirs` that exists, or None when none does.
    """
    return next((folder for folder in zoo_config_dirs() if os.path.isdir(folder)), None)


def zoo_config_names():
    """Names of the YAML configs in `zoo_config_dir()`."""
    folder = zoo_config_dir()
    if folder is None:
        return []
    return sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".yaml"))
