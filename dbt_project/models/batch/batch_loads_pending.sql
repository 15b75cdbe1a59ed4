-- The batch of this build: every landing day (re)loaded since the last committed build
-- (raw.load_log rows loaded after the watermark). Incremental models restate what these
-- loads touched; after a full refresh every load is pending.
{{ config(materialized='table') }}

with

watermark as (

    select max(built_until) as built_until from {{ ref('batch_build_watermarks') }}

),

loads as (

    select * from {{ ref('stg_load__load_log') }}

)

select
    loads.entity,
    loads.partition_date,
    loads.loaded_at,
    -- rows of people with an erasure request left raw with this load
    (loads.entity = 'erasure_requests' and loads.rows_loaded > 0)
    or coalesce(loads.rows_erased, 0) > 0 as has_erasures
from loads
cross join watermark
where watermark.built_until is null or loads.loaded_at > watermark.built_until
