"""cenas forecaster: hourly carbon-intensity forecasts (96 h, quantiles) over HTTP."""
