# The constants setup.py makes of csrc/statedir.h's PYRUNC_SD_ defines
# (pyrunc/_statedir.py exists only in the built package).
DEFAULT_ROOT: str
STATE_FILE: str
FIFO: str
CONFIG_FILE: str
FASTPATH: str
FASTPATH_MAGIC: str
FASTPATH_MAX_SIZE: int
FASTPATH_MAX_CGROUPS: int
ID_FIRST: str
ID_MORE: str
ID_MAX: int
STAT_STATE_FIELD: int
STAT_START_FIELD: int
DEAD_STATES: str
