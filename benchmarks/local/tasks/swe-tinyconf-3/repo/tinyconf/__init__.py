"""tinyconf: read INI-style configuration files."""

from tinyconf.config import Config, load, loads
from tinyconf.errors import ConfigError

__all__ = ["Config", "ConfigError", "load", "loads"]
__version__ = "0.4.1"
