"""The schedule engine: the vocabulary (`model`), the rules any schedule must pass (`rules`), shift
templates and break placement (`shifts`), and how a schedule scores (`scoring`)."""
