"""The carbon credit calculator (reference §8, issue 9), usable on its own and by the programmes service.

- ``units.py``: the seed's ``convert-units`` keys, converted exactly through pint (``Fraction`` magnitudes).
- ``schemas.py``: the input of each methodology, ``CalculatorInput`` (discriminated on ``methodology``).
- ``methodologies.py``: one pure function per methodology, exact credits.
- ``constants.py``: default constants, Government-set versions (``app.calculator_constants``), their audit.
- ``permissions.py``: who may set constants.
- ``estimate.py``: ``estimate(conn, request, start_time=, end_time=)`` → ``Estimate`` (rounded credits, the
  constants and their version).
"""

from node.calculator.constants import (
    CONSTANTS_MODELS,
    DEFAULTS,
    AgricultureConstants,
    BiocharConstants,
    Constants,
    ConstantsUnchanged,
    ConstantsVersion,
    CookstovesConstants,
    SolarConstants,
    SolarWaterPumpingConstants,
    current,
    history,
    latest,
    set_constants,
)
from node.calculator.estimate import MAX_CREDITS, PRECISION, Estimate, compute, estimate, round_half_up
from node.calculator.schemas import (
    AgricultureInput,
    BiocharInput,
    CalculatorInput,
    CookstovesInput,
    Methodology,
    SolarInput,
    SolarWaterPumpingOffGridInput,
    SolarWaterPumpingOnGridInput,
)

__all__ = [
    "CONSTANTS_MODELS", "DEFAULTS", "MAX_CREDITS", "PRECISION", "AgricultureConstants", "AgricultureInput",
    "BiocharConstants", "BiocharInput", "CalculatorInput", "Constants", "ConstantsUnchanged", "ConstantsVersion",
    "CookstovesConstants", "CookstovesInput", "Estimate", "Methodology", "SolarConstants", "SolarInput",
    "SolarWaterPumpingConstants", "SolarWaterPumpingOffGridInput", "SolarWaterPumpingOnGridInput", "compute",
    "current", "estimate", "history", "latest", "round_half_up", "set_constants",
]  # fmt: skip
