"""The contract, shipped with the service: `swagger.yaml` is read from this
package (importlib.resources), so an installed wheel serves the same spec."""

from importlib import resources
from pathlib import Path

# A file on disk: Connexion reads the spec from a folder, and wheels install
# unzipped.
SPEC_PATH = Path(str(resources.files(__name__).joinpath("swagger.yaml")))
