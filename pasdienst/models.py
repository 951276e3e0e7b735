"""Imports every model module so ``Base.metadata`` is complete (Alembic, drift test)."""
from .db import Base
from . import ledger as _ledger  # noqa: F401 - its package imports its models
from .municipalities import models as _municipalities  # noqa: F401 - registers its tables
from .redeem import models as _redeem  # noqa: F401 - registers its tables
from .merchants import models as _merchants  # noqa: F401 - registers its tables
from .access import models as _access  # noqa: F401 - registers its tables
from .wallet import models as _wallet  # noqa: F401 - registers its tables
from .settlement import models as _settlement  # noqa: F401 - registers its tables
from .admin import models as _admin  # noqa: F401 - registers its tables
from .foureyes import models as _foureyes  # noqa: F401 - registers its tables
from .reports import models as _reports  # noqa: F401 - registers its tables
from .jobs import models as _jobs  # noqa: F401 - registers its tables
from .reminders import models as _reminders  # noqa: F401 - registers its tables
from .cooperations import models as _cooperations  # noqa: F401 - registers its tables
from .maatwerk import models as _maatwerk  # noqa: F401 - registers its tables

metadata = Base.metadata
