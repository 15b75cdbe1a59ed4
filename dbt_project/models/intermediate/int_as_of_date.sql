-- "As of the latest landed day": computed from the data, never passed in, so a backfill of
-- an old range publishes the same numbers as the daily run. The latest day for which any
-- entity but erasure requests loaded rows (from the load log, so no raw table is scanned).
{{ config(materialized='table') }}

select max(partition_date) as as_of_date
from {{ ref('stg_load__load_log') }}
where entity <> 'erasure_requests' and rows_loaded > 0
