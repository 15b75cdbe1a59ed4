-- "As of the latest landed day": computed from the data, never passed in, so a backfill of
-- an old range publishes the same numbers as the daily run. It reads raw lineage directly:
-- the staging views would recompute their deduplication just to find a max.
{{ config(materialized='table') }}

with

landed_days as (

    {% for entity in ['contacts', 'lifecycle_events', 'touchpoints', 'google_ads', 'meta_ads',
                      'linkedin_ads', 'orders', 'refunds', 'fx_rates'] %}
    select max(_partition_date) as partition_date from {{ source('raw', entity) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select max(partition_date) as as_of_date
from landed_days
