"""The use cases of qcode: the only API that the CLI and the TUI call.

Functions take explicit arguments, return plain data and raise ``QcodeError``
for anything a user can cause. One module per area; everything is re-exported
here so front ends write ``services.import_paths(...)``.
"""

from qcode.services.agreement import *  # noqa: F403
from qcode.services.anonymize import *  # noqa: F403
from qcode.services.backup import *  # noqa: F403
from qcode.services.coding import *  # noqa: F403
from qcode.services.nlp import *  # noqa: F403
from qcode.services.projects import *  # noqa: F403
from qcode.services.query import *  # noqa: F403
from qcode.services.retention import *  # noqa: F403
from qcode.services.suggest import *  # noqa: F403
from qcode.services.teamwork import *  # noqa: F403
