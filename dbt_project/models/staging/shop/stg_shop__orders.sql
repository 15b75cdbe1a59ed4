-- A table, not a view: customer_key() is a TEMP macro that exists only on dbt's own
-- connections, so a view calling it could not be read from any other connection.
{{ config(materialized='table') }}

with

source as (

    select * from {{ source('raw', 'orders') }}

),

latest_versions as (

    -- One row per order: exact duplicates collapse, and an order re-sent later (e.g. with a
    -- new status) replaces the earlier version.
    select *
    from source
    qualify row_number() over (
        partition by trim(order_id)
        order by _partition_date desc, _loaded_at desc, _source_file desc, _source_line desc
    ) = 1

),

renamed as (

    select
        -- ids
        trim(order_id) as order_id,
        customer_key(customer_email) as customer_key,  -- the e-mail stops here

        -- attributes
        lower(trim(status)) as status,
        upper(trim(currency)) as currency,

        -- numerics
        amount,

        -- timestamps
        ordered_at,
        cast(ordered_at as date) as order_date,

        -- lineage
        _partition_date

    from latest_versions

),

erased as (

    select customer_key from {{ ref('stg_privacy__erasure_requests') }}

)

select renamed.*
from renamed
-- Belt and braces: the extractor already removes erased people's orders.
where not exists (
    select 1 from erased
    where erased.customer_key = renamed.customer_key
)
