"""The config file: its schema and validation (`schema`), the comment-preserving writer (`writer`) and the
answers of `taskping-tui init` (`init_answers`). No Textual imports here.

The schema's names are re-exported so `from taskping_tui.config import Config, load_config` keeps working.
"""

from taskping_tui.config.schema import *  # noqa: F403  (re-export the schema's public names)
