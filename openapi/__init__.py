"""The contract, shipped with the service: `swagger.yaml` is read from this
package (importlib.resources), so an installed wheel serves the same spec."""

from importlib import resources
from pathlib import Path

import yaml

# A file on disk: Connexion reads the spec from a folder, and wheels install
# unzipped.
SPEC_PATH = Path(str(resources.files(__name__).joinpath("swagger.yaml")))


def load_spec(path: Path = SPEC_PATH) -> dict:
    """The spec at `path` as data, parsed by libyaml where PyYAML has it: ten
    times faster than PyYAML's own parser, and a worker parses it at start."""
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


# Where the API is served: the spec's `servers` entry, the one place it is said.
BASE_PATH = load_spec()["servers"][0]["url"]
