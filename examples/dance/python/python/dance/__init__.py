"""The dance game in Python: ``dance.App`` is a :class:`brp.App` whose worlds
play the game (its ``Player``, ``Score`` and ``ArmAngles``)."""

import brp
from dance import _native

App = brp.module_app(_native)
