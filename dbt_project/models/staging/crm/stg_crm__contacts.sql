-- A table, not a view: customer_key() is a TEMP macro that exists only on dbt's own
-- connections, so a view calling it could not be read from any other connection
-- (Dagster checks, BI tools, a DuckDB shell).
{{ config(materialized='table') }}

with

source as (

    select * from {{ source('raw', 'contacts') }}

),

latest_versions as (

    -- One row per contact: the latest updated_at wins; ties (exact duplicates, an update
    -- landed twice) go to the row landed last.
    select *
    from source
    qualify row_number() over (
        partition by trim(contact_id)
        order by
            updated_at desc, _partition_date desc, _loaded_at desc, _source_file desc,
            _source_line desc
    ) = 1

),

renamed as (

    select
        -- ids
        trim(contact_id) as contact_id,
        customer_key(email) as customer_key,

        -- attributes (email and full_name stop here: no PII after staging)
        nullif(upper(trim(country)), '') as country,
        marketing_consent,

        -- timestamps
        created_at,
        updated_at,

        -- lineage
        _partition_date

    from latest_versions

),

erased as (

    select customer_key from {{ ref('stg_privacy__erasure_requests') }}

)

select renamed.*
from renamed
-- The extractor already removes erased people; this keeps them out even when a request
-- landed after their rows were extracted.
where not exists (
    select 1 from erased
    where erased.customer_key = renamed.customer_key
)
