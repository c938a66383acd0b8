"""Contact volume and handle-time forecasting: a pure library, pandas in and pandas out.

``forecast(history, horizon_days, ...)`` is the entry point; see `forecasting.core`. The models, the
backtest, the quantile calibration and the calendar live in their own modules and can be used alone.
Importing this package loads statsmodels (about a second); it never imports anything from the app.
"""

from forecasting.calendar import Event, holiday_calendar
from forecasting.core import FORECAST_COLUMNS, METHODS, ChannelReport, ForecastResult, forecast
from forecasting.models import (
    FittedModel,
    ForecastModel,
    FourierRegression,
    MSTLModel,
    SeasonalNaive,
    TopDownETS,
)
from forecasting.quantiles import Calibration
from forecasting.validation import validate_history

__all__ = [
    "FORECAST_COLUMNS",
    "METHODS",
    "Calibration",
    "ChannelReport",
    "Event",
    "FittedModel",
    "ForecastModel",
    "ForecastResult",
    "FourierRegression",
    "MSTLModel",
    "SeasonalNaive",
    "TopDownETS",
    "forecast",
    "holiday_calendar",
    "validate_history",
]
