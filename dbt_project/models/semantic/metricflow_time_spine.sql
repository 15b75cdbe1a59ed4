-- MetricFlow's time spine: one row per day, 2000 to 2099, for metric_time and cumulative
-- metrics (see _semantic__models.yml).
{{ config(materialized='table', schema='semantic') }}

select cast(range as date) as date_day
from range(date '2000-01-01', date '2100-01-01', interval 1 day)
