"""Settings for the unit tests: plots are drawn off-screen. (Shared settings: ../conftest.py.)"""

import matplotlib

matplotlib.use("Agg")
