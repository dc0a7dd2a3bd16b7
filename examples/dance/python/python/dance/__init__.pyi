import brp

class App(brp.App):
    """A :class:`brp.App` whose worlds play the dance game."""
