"""Bad inputs are repaired (unsorted) or refused with a message naming the problem, the row and the time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import forecast, validate_history
from forecasting.validation import aggregate


def frame(times: list[str], offered: list[float], channel: str = "voice") -> pd.DataFrame:
    return pd.DataFrame({"interval_start": times, "channel": channel, "offered": offered})


def day_of(start: str, intervals: int = 96, minutes: int = 15, value: float = 1.0) -> pd.DataFrame:
    times = pd.date_range(start, periods=intervals, freq=f"{minutes}min")
    return pd.DataFrame({"interval_start": times, "channel": "voice", "offered": value})


def test_unsorted_rows_are_sorted_silently() -> None:
    ordered = day_of("2024-01-01", intervals=8)
    shuffled = ordered.sample(frac=1.0, random_state=3)
    clean = validate_history(shuffled)
    assert clean.frame["local"].is_monotonic_increasing
    assert clean.interval_minutes == 15
    assert clean.warnings == ()


def test_iso_strings_with_and_without_offsets_are_read() -> None:
    naive = validate_history(frame(["2024-01-01T08:00", "2024-01-01T08:30"], [1, 2]))
    assert naive.time_zone is None and not naive.aware and naive.interval_minutes == 30
    # Hourly rows with offsets across the spring change: 01:00+01:00 and 03:00+02:00 are one hour apart.
    times = ["2024-03-31T00:00+01:00", "2024-03-31T01:00+01:00", "2024-03-31T03:00+02:00", "2024-03-31T04:00+02:00"]
    aware = validate_history(frame(times, [1, 2, 3, 4]), time_zone="Europe/Stockholm")
    assert aware.aware and aware.input_time_zone == "Europe/Stockholm"
    assert aware.interval_minutes == 60
    assert list(aware.frame["local"].dt.hour) == [0, 1, 3, 4]


def test_duplicated_key_names_both_rows() -> None:
    bad = frame(["2024-01-01 08:00", "2024-01-01 08:15", "2024-01-01 08:00"], [1, 2, 3])
    with pytest.raises(
        ValueError, match=r"duplicated interval_start 2024-01-01 08:00:00 for channel 'voice' in rows 0, 2"
    ):
        validate_history(bad)


def test_irregular_interval_names_the_row() -> None:
    times = [f"2024-01-01 {h:02d}:{m:02d}" for h in range(8, 20) for m in (0, 15, 30, 45)]
    times[10] = "2024-01-01 10:20"
    with pytest.raises(ValueError, match=r"irregular intervals: interval_start 2024-01-01 10:20:00 .*row 10"):
        validate_history(frame(times, [1.0] * len(times)))


def test_interval_that_does_not_divide_a_day_is_refused() -> None:
    times = [str(t) for t in pd.date_range("2024-01-01", periods=10, freq="7min")]
    with pytest.raises(ValueError, match="7-minute interval does not divide a day"):
        validate_history(frame(times, [1.0] * 10))


def test_seconds_are_irregular() -> None:
    with pytest.raises(ValueError, match="not on a whole minute"):
        validate_history(frame(["2024-01-01 08:00:30", "2024-01-01 08:15:30"], [1, 1]))


def test_negative_count_names_row_and_value() -> None:
    with pytest.raises(ValueError, match=r"offered is negative \(-3\) in row 1"):
        validate_history(frame(["2024-01-01 08:00", "2024-01-01 08:15"], [1, -3]))


def test_non_numeric_and_missing_counts() -> None:
    with pytest.raises(ValueError, match=r"offered 'many' in row 1 is not a number"):
        validate_history(frame(["2024-01-01 08:00", "2024-01-01 08:15"], [1, "many"]))  # type: ignore[list-item]
    with pytest.raises(ValueError, match="offered is empty in row 0"):
        validate_history(frame(["2024-01-01 08:00", "2024-01-01 08:15"], [np.nan, 1]))


def test_missing_column_and_bad_timestamp() -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) 'offered'"):
        validate_history(pd.DataFrame({"interval_start": ["2024-01-01"], "channel": ["voice"]}))
    with pytest.raises(ValueError, match=r"interval_start 'yesterday' in row 1 is not an ISO 8601 timestamp"):
        validate_history(frame(["2024-01-01 08:00", "yesterday"], [1, 1]))


def test_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match="not an IANA time zone"):
        validate_history(frame(["2024-01-01 08:00", "2024-01-01 08:15"], [1, 1]), time_zone="Mars/Olympus")


def test_naive_spring_gap_is_an_error_unless_zero() -> None:
    times = ["2024-03-31 01:30", "2024-03-31 01:45", "2024-03-31 02:15", "2024-03-31 03:00"]
    with pytest.raises(ValueError, match=r"2024-03-31 02:15:00 .*does not exist in Europe/Stockholm"):
        validate_history(frame(times, [1, 1, 1, 1]), time_zone="Europe/Stockholm")
    clean = validate_history(frame(times, [1, 1, 0, 1]), time_zone="Europe/Stockholm")
    assert len(clean.frame) == 3
    assert "spring gap" in clean.warnings[0]


def test_naive_repeated_autumn_hour_in_file_order() -> None:
    # 02:00-02:45 happens twice on 2024-10-27 in Stockholm: the first rows are the first pass.
    times = ["2024-10-27 01:45", "2024-10-27 02:00", "2024-10-27 02:00", "2024-10-27 03:00"]
    clean = validate_history(frame(times, [1, 5, 7, 1]), time_zone="Europe/Stockholm")
    assert list(clean.frame["fold"]) == [0, 0, 1, 0]
    assert list(clean.frame["offered"]) == [1, 5, 7, 1]
    # Without a time zone the same rows are plain duplicates.
    with pytest.raises(ValueError, match="duplicated interval_start 2024-10-27 02:00:00"):
        validate_history(frame(times, [1, 5, 7, 1]))


def test_aggregation_must_be_a_multiple_and_sums_with_weighted_aht() -> None:
    rows = day_of("2024-01-01", intervals=4, minutes=5)
    rows["offered"] = [1.0, 3.0, 0.0, 2.0]
    rows["aht_seconds"] = [100.0, 200.0, np.nan, np.nan]
    clean = validate_history(rows)
    out, minutes = aggregate(clean, 15)
    assert minutes == 15
    assert list(out["offered"]) == [4.0, 2.0]
    # (1 * 100 + 3 * 200) / 4 = 175 seconds; the second interval has no handle time.
    assert out["aht_seconds"].iloc[0] == pytest.approx(175.0)
    assert np.isnan(out["aht_seconds"].iloc[1])
    with pytest.raises(ValueError, match="multiple of the history's 5-minute interval"):
        aggregate(clean, 12)


def test_forecast_rejects_bad_arguments() -> None:
    history = day_of("2024-01-01")
    with pytest.raises(ValueError, match="method must be one of"):
        forecast(history, 7, method="prophet")
    with pytest.raises(ValueError, match="horizon_days must be between 1 and 366"):
        forecast(history, 0)
    with pytest.raises(ValueError, match="start 2024-01-01 must be after the history"):
        forecast(history, 7, start="2024-01-01")
    with pytest.raises(ValueError, match="open_slots names channel"):
        forecast(history, 7, open_slots={"chat": lambda weekday, minute: True})
