"""The contract, shipped with the service: `swagger.yaml` is read from this
package (importlib.resources), so an installed wheel serves the same spec."""

from importlib import resources
from pathlib import Path

import yaml

# A file on disk: Connexion reads the spec from a folder, and wheels install
# unzipped.
SPEC_PATH = Path(str(resources.files(__name__).joinpath("swagger.yaml")))

# Where the API is served: the spec's `servers` entry, the one place it is said.
BASE_PATH = yaml.load(SPEC_PATH.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
                      )["servers"][0]["url"]
